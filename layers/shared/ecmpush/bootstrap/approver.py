"""The approver's API (functions/approver): the caller's waiting steps and documents, read from
Content Server as the caller, joined with the tracked tasks and pushes."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from functools import cache
from typing import TYPE_CHECKING, TypedDict, Unpack

from ecmpush.bootstrap.cache import Overrides, cached
from ecmpush.bootstrap.parts import build_secret_store, ecm_client, table
from ecmpush.clock import utc_now
from ecmpush.settings import Settings, settings

if TYPE_CHECKING:
    from ecmpush.ports import ContentServer, TrackedStepsPort
    from ecmpush.services.approver import ApproverService


class ApproverParts(TypedDict, total=False):
    """What a test may hand `build_approver` instead of the real thing."""

    ecm: Callable[[], ContentServer]
    tracked: Callable[[], TrackedStepsPort]
    clock: Callable[[], datetime]


@cached
def build_approver(
    config: Settings | None = None, **overrides: Unpack[ApproverParts]
) -> ApproverService:
    from ecmpush.services.approver import ApproverService

    config = config or settings()
    part = Overrides(overrides, ApproverParts)

    @cache
    def tracked() -> TrackedStepsPort:
        from ecmpush.adapters.tracked_steps_repository import TrackedStepsRepository

        return TrackedStepsRepository(table(config.tasks_table), table(config.deliveries_table))

    return ApproverService(
        ecm=part("ecm", lambda: ecm_client(config, build_secret_store)),
        tracked=part("tracked", lambda: tracked),
        clock=part("clock", lambda: utc_now),
        token_ttl=timedelta(hours=config.action_token_ttl_hours),
    )
