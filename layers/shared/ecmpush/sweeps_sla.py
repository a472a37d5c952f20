"""Wiring of the SLA sweep (issue #4, flow 3): one policy and one service per warm container,
from settings. The handler (functions/sla_sweep/app.py) imports only `sla_sweep_service`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ecmpush.components import component
from ecmpush.settings import ConfigurationError, settings

if TYPE_CHECKING:
    from ecmpush.domain.sla import SlaPolicy
    from ecmpush.services.sla_sweep import SlaSweepService


@component
def sla_policy() -> SlaPolicy:
    """Default SLA hours (ECMPUSH_SLA_DEFAULTS over the built-in table) and the grace before the
    escalation (ECMPUSH_SLA_GRACE_HOURS), checked at cold start."""
    from ecmpush.domain.sla import SlaConfigError, SlaPolicy

    config = settings()
    try:
        return SlaPolicy.from_config(config.sla_defaults, config.sla_grace_hours)
    except SlaConfigError as exc:
        raise ConfigurationError(f"ECMPUSH_SLA_DEFAULTS / ECMPUSH_SLA_GRACE_HOURS: {exc}") from exc


@component
def sla_sweep_service() -> SlaSweepService:
    from ecmpush import bootstrap
    from ecmpush.adapters.dynamo import table
    from ecmpush.adapters.sqs_publisher import SqsPublisher
    from ecmpush.adapters.tasks_repository import TasksRepository
    from ecmpush.services.sla_sweep import SlaSweepService

    config = settings()
    policy = sla_policy()
    return SlaSweepService(
        tasks=TasksRepository(table(config.tasks_table), config.retention_days, policy),
        ecm=bootstrap.ecm_client,
        publisher=SqsPublisher(config.dispatch_queue_url),
        policy=policy,
        app_base_url=config.app_base_url,
    )
