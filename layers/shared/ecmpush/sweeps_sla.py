"""Wiring of the SLA sweep (issue #4, flow 3): one service per warm container, from settings.
The SLA policy and the tasks repository are shared with Dispatch (`bootstrap`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ecmpush.components import component
from ecmpush.settings import settings

if TYPE_CHECKING:
    from ecmpush.services.sla_sweep import SlaSweepService


@component
def sla_sweep_service() -> SlaSweepService:
    from ecmpush import bootstrap
    from ecmpush.adapters.sqs_publisher import SqsPublisher
    from ecmpush.services.sla_sweep import SlaSweepService

    config = settings()
    policy = bootstrap.sla_policy()
    return SlaSweepService(
        tasks=bootstrap.tasks_repository(),
        ecm=bootstrap.ecm_client,
        publisher=SqsPublisher(config.dispatch_queue_url),
        policy=policy,
        app_base_url=config.app_base_url,
    )
