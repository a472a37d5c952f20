"""The reply flow: the response callback (functions/response_callback) and the write-back
worker (functions/write_back) that applies queued replies."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, TypedDict, Unpack

from ecmpush.bootstrap.cache import Overrides, cached
from ecmpush.bootstrap.parts import (
    build_secret_store,
    disposition_mapping,
    ecm_client,
    queue,
    rotating_secret,
    routing,
    table,
    tasks_repository,
)
from ecmpush.clock import utc_now
from ecmpush.settings import Settings, settings

if TYPE_CHECKING:
    from ecmpush.domain.delivery.routing_config import RoutingConfig
    from ecmpush.ports import (
        ContentServer,
        DevicesPort,
        ProcessFigures,
        Publisher,
        RepliesPort,
        ReplyWriter,
        TasksPort,
    )
    from ecmpush.services.response_callback import ResponseCallbackService
    from ecmpush.services.write_back import WriteBackService


class WriteBackParts(TypedDict, total=False):
    """What a test (or the response callback) may hand `build_write_back`."""

    ecm: Callable[[], ContentServer]
    replies: RepliesPort
    tasks: TasksPort
    publisher: Publisher
    clock: Callable[[], datetime]
    routing: Callable[[], RoutingConfig]
    figures: ProcessFigures


class ResponseCallbackParts(TypedDict, total=False):
    """What a test may hand `build_response_callback` instead of the real thing."""

    action_token_keys: Callable[[], list[bytes]]
    refreshed_action_token_keys: Callable[[], list[bytes] | None]
    replies: RepliesPort
    tasks: TasksPort
    devices: DevicesPort
    writer: ReplyWriter
    queue: Publisher
    clock: Callable[[], datetime]


@cached
def build_write_back(
    config: Settings | None = None, **overrides: Unpack[WriteBackParts]
) -> WriteBackService:
    from ecmpush.adapters.replies_repository import RepliesRepository
    from ecmpush.services.write_back import WriteBackService

    config = config or settings()
    part = Overrides(overrides, WriteBackParts)
    return WriteBackService(
        ecm=part("ecm", lambda: ecm_client(config, build_secret_store)),
        replies=part(
            "replies",
            lambda: RepliesRepository(table(config.deliveries_table), config.retention_days),
        ),
        tasks=part("tasks", lambda: tasks_repository(config)),
        publisher=part("publisher", lambda: queue(config.dispatch_queue_url)),
        app_base_url=config.app_base_url,
        clock=part("clock", lambda: utc_now),
        routing=part("routing", lambda: routing(config)),
        mapping=disposition_mapping(config),
        figures=part("figures", _figures),
    )


def _figures() -> ProcessFigures:
    from ecmpush.adapters.process_figures import PowertoolsFigures

    return PowertoolsFigures()


@cached
def build_response_callback(
    config: Settings | None = None, **overrides: Unpack[ResponseCallbackParts]
) -> ResponseCallbackService:
    """The reply is applied inline by a write-back service sharing this one's repositories."""
    from ecmpush.adapters.devices_repository import DevicesRepository
    from ecmpush.adapters.replies_repository import RepliesRepository
    from ecmpush.services.response_callback import ResponseCallbackService

    config = config or settings()
    part = Overrides(overrides, ResponseCallbackParts)
    keys, refreshed = rotating_secret(build_secret_store, config.action_token_secret_id)
    replies = part(
        "replies",
        lambda: RepliesRepository(table(config.deliveries_table), config.retention_days),
    )
    tasks = part("tasks", lambda: tasks_repository(config))
    return ResponseCallbackService(
        action_token_keys=part("action_token_keys", lambda: keys),
        refreshed_action_token_keys=part("refreshed_action_token_keys", lambda: refreshed),
        replies=replies,
        tasks=tasks,
        devices=part("devices", lambda: DevicesRepository(table(config.devices_table))),
        writer=part("writer", lambda: build_write_back(config, replies=replies, tasks=tasks)),
        queue=part("queue", lambda: queue(config.writeback_queue_url)),
        clock=part("clock", lambda: utc_now),
    )
