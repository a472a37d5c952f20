"""Dispatch (functions/dispatch): its service and the worker threads it keeps for the
container's life."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from ecmpush.bootstrap.firebase import push_sender
from ecmpush.bootstrap.secrets import action_token_key
from ecmpush.bootstrap.shared import ecm_client, link_policy, routing_config, tasks_repository
from ecmpush.bootstrap.sweeps import record_tracker
from ecmpush.clock import utc_now
from ecmpush.components import component
from ecmpush.settings import settings

if TYPE_CHECKING:
    from concurrent.futures import ThreadPoolExecutor

    from ecmpush.services.dispatch import DispatchService


@component
def dispatch_pool() -> ThreadPoolExecutor:
    """Dispatch's worker threads, kept for the container's life (DynamoDB writes overlapping the
    next send; boto3 clients are thread-safe)."""
    from concurrent.futures import ThreadPoolExecutor  # not on the other handlers' import path

    return ThreadPoolExecutor(settings().dispatch_threads, thread_name_prefix="dispatch")


@component
def dispatch_service() -> DispatchService:
    from ecmpush.adapters.deliveries_repository import DeliveriesRepository
    from ecmpush.adapters.devices_repository import DevicesRepository
    from ecmpush.adapters.dynamo import table
    from ecmpush.adapters.events_repository import EventsRepository
    from ecmpush.adapters.fcm_pause_store import FcmPauseStore
    from ecmpush.adapters.firebase_app import send_budget
    from ecmpush.adapters.sqs_publisher import SqsPublisher
    from ecmpush.services.action_tokens import ActionTokenSigner
    from ecmpush.services.dispatch import OUTCOME_SAVE_SECONDS, DispatchService

    config = settings()
    return DispatchService(
        recipients=DevicesRepository(table(config.devices_table)),
        deliveries=DeliveriesRepository(table(config.deliveries_table), config.retention_days),
        events=EventsRepository(table(config.events_table), config.retention_days),
        tasks=tasks_repository(),
        publisher=SqsPublisher(config.dispatch_queue_url),
        routing=routing_config,
        records=record_tracker(),
        sender=push_sender(),
        pause=FcmPauseStore(table(config.deliveries_table)),
        signer=ActionTokenSigner(action_token_key, timedelta(hours=config.action_token_ttl_hours)),
        app_base_url=config.app_base_url,
        clock=utc_now,
        batch_size=config.delivery_batch_size,
        send_chunk=config.fcm_chunk_size,
        reserve_seconds=send_budget(config.fcm_timeout_seconds) + OUTCOME_SAVE_SECONDS,
        pool=dispatch_pool(),
        directory=ecm_client,
        links=link_policy(),
    )
