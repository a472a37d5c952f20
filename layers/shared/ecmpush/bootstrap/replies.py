"""The reply flow: the response callback (functions/response_callback) and the write-back
worker (functions/write_back) that applies queued replies."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

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
from ecmpush.settings import Settings

if TYPE_CHECKING:
    from ecmpush.adapters.secrets import SecretStore
    from ecmpush.services.response_callback import ResponseCallbackService
    from ecmpush.services.write_back import WriteBackService


def _write_back(
    config: Settings, store: Callable[[], SecretStore], part: Overrides
) -> WriteBackService:
    from ecmpush.adapters.responses_repository import ResponsesRepository
    from ecmpush.services.write_back import WriteBackService

    return WriteBackService(
        ecm=part("ecm", lambda: ecm_client(config, store)),
        replies=part(
            "replies",
            lambda: ResponsesRepository(table(config.deliveries_table), config.retention_days),
        ),
        tasks=part("tasks", lambda: tasks_repository(config)),
        publisher=part("publisher", lambda: queue(config.dispatch_queue_url)),
        app_base_url=config.app_base_url,
        clock=part("clock", lambda: utc_now),
        routing=part("routing", lambda: routing(config)),
        mapping=disposition_mapping(config),
    )


@cached
def build_write_back(config: Settings, **overrides: Any) -> WriteBackService:
    part = Overrides(overrides, "ecm", "replies", "tasks", "publisher", "clock", "routing")
    service = _write_back(config, build_secret_store, part)
    return service


@cached
def build_response_callback(config: Settings, **overrides: Any) -> ResponseCallbackService:
    from ecmpush.adapters.devices_repository import DevicesRepository
    from ecmpush.adapters.responses_repository import ResponsesRepository
    from ecmpush.services.response_callback import ResponseCallbackService

    part = Overrides(
        overrides,
        "replies",
        "tasks",
        "action_token_keys",
        "refreshed_action_token_keys",
        "devices",
        "writer",
        "queue",
        "clock",
    )
    store = build_secret_store
    keys, refreshed = rotating_secret(store, config.action_token_secret_id)
    replies = part(
        "replies",
        lambda: ResponsesRepository(table(config.deliveries_table), config.retention_days),
    )
    tasks = part("tasks", lambda: tasks_repository(config))
    service = ResponseCallbackService(
        action_token_keys=part("action_token_keys", lambda: keys),
        refreshed_action_token_keys=part("refreshed_action_token_keys", lambda: refreshed),
        replies=replies,
        tasks=tasks,
        devices=part("devices", lambda: DevicesRepository(table(config.devices_table))),
        writer=part(
            "writer",
            lambda: _write_back(
                config, store, Overrides({"replies": replies, "tasks": tasks}, "replies", "tasks")
            ),
        ),
        queue=part("queue", lambda: queue(config.writeback_queue_url)),
        clock=part("clock", lambda: utc_now),
    )
    return service
