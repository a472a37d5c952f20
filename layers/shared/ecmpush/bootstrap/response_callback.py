"""The reply flow: the response callback (functions/response_callback) and the write-back
worker (functions/write_back) that applies queued replies."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, cast

from ecmpush.bootstrap.secrets import action_token_keys, refreshed_action_token_keys
from ecmpush.bootstrap.shared import ecm_client, routing_config, tasks_repository
from ecmpush.clock import utc_now
from ecmpush.components import component
from ecmpush.settings import ConfigurationError, settings

if TYPE_CHECKING:
    from ecmpush.services.response_callback import ResponseCallbackService
    from ecmpush.services.write_back import WriteBackService


@component
def disposition_mapping() -> dict[str, list[str]] | None:
    """The operator's override of the reply → disposition candidates, checked at cold start."""
    raw = settings().disposition_map
    if not raw:
        return None
    try:
        mapping = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ConfigurationError("ECMPUSH_DISPOSITION_MAP is not JSON") from exc
    valid = isinstance(mapping, dict) and all(
        isinstance(k, str) and isinstance(v, list) and all(isinstance(c, str) for c in v)
        for k, v in mapping.items()
    )
    if not valid:
        raise ConfigurationError("ECMPUSH_DISPOSITION_MAP must map reply actions to lists of keys")
    return cast("dict[str, list[str]]", mapping)


@component
def write_back_service() -> WriteBackService:
    from ecmpush.adapters.dynamo import table
    from ecmpush.adapters.responses_repository import ResponsesRepository
    from ecmpush.adapters.sqs_publisher import SqsPublisher
    from ecmpush.services.write_back import WriteBackService

    config = settings()
    return WriteBackService(
        ecm=ecm_client,
        replies=ResponsesRepository(table(config.deliveries_table), config.retention_days),
        tasks=tasks_repository(),
        publisher=SqsPublisher(config.dispatch_queue_url),
        app_base_url=config.app_base_url,
        clock=utc_now,
        routing=routing_config,
        mapping=disposition_mapping(),
    )


@component
def response_callback_service() -> ResponseCallbackService:
    from ecmpush.adapters.devices_repository import DevicesRepository
    from ecmpush.adapters.dynamo import table
    from ecmpush.adapters.responses_repository import ResponsesRepository
    from ecmpush.adapters.sqs_publisher import SqsPublisher
    from ecmpush.services.response_callback import ResponseCallbackService

    config = settings()
    return ResponseCallbackService(
        action_token_keys=action_token_keys,
        refreshed_action_token_keys=refreshed_action_token_keys,
        replies=ResponsesRepository(table(config.deliveries_table), config.retention_days),
        tasks=tasks_repository(),
        devices=DevicesRepository(table(config.devices_table)),
        writer=write_back_service(),
        queue=SqsPublisher(config.writeback_queue_url),
        clock=utc_now,
    )
