"""Dispatch (functions/dispatch): its message handlers over one delivery step, and the worker
threads it keeps for the container's life."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Executor
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, TypedDict, Unpack

from ecmpush.bootstrap.cache import Overrides, cached_closing
from ecmpush.bootstrap.parts import (
    build_secret_store,
    ecm_client,
    firebase_app,
    link_policy,
    queue,
    records_table,
    routing,
    table,
    tasks_repository,
)
from ecmpush.clock import utc_now
from ecmpush.settings import Settings, settings

if TYPE_CHECKING:
    from concurrent.futures import ThreadPoolExecutor

    from ecmpush.adapters.secrets import SecretStore
    from ecmpush.domain.delivery.routing_config import RoutingConfig
    from ecmpush.domain.intake.links import LinkPolicy
    from ecmpush.ports import (
        ContentServer,
        DeliveriesPort,
        DevicesPort,
        EventsPort,
        FcmPausePort,
        Publisher,
        PushSender,
        RecordsPort,
        TasksPort,
    )
    from ecmpush.services.action_tokens import ActionTokenSigner
    from ecmpush.services.delivery import DeliveryOptions
    from ecmpush.services.dispatch import Dispatch


class DispatchParts(TypedDict, total=False):
    """What a test may hand `build_dispatch` instead of the real thing."""

    recipients: DevicesPort
    deliveries: DeliveriesPort
    events: EventsPort
    tasks: TasksPort
    records: RecordsPort
    publisher: Publisher
    sender: PushSender
    pause: FcmPausePort
    signer: ActionTokenSigner
    routing: Callable[[], RoutingConfig]
    directory: Callable[[], ContentServer] | None
    links: LinkPolicy
    clock: Callable[[], datetime]
    pool: Executor
    options: DeliveryOptions


def _options(config: Settings) -> DeliveryOptions:
    from ecmpush.adapters.firebase_app import send_budget
    from ecmpush.services.delivery import (
        CLAIM_LEASE_SECONDS,
        OUTCOME_SAVE_SECONDS,
        DeliveryOptions,
    )

    return DeliveryOptions(
        lease_seconds=CLAIM_LEASE_SECONDS,
        batch_size=config.delivery_batch_size,
        send_chunk=config.fcm_chunk_size,
        reserve_seconds=send_budget(config.fcm_timeout_seconds) + OUTCOME_SAVE_SECONDS,
    )


_POOLS: list[ThreadPoolExecutor] = []


def _dispatch_pool(config: Settings) -> ThreadPoolExecutor:
    """Dispatch's worker threads, kept for the container's life (DynamoDB writes overlapping the
    next send; boto3 clients are thread-safe)."""
    from concurrent.futures import ThreadPoolExecutor  # not on the other handlers' import path

    pool = ThreadPoolExecutor(config.dispatch_threads, thread_name_prefix="dispatch")
    _POOLS.append(pool)
    return pool


def _shutdown_pools() -> None:
    """Its threads would outlive a forgotten Dispatch, idle, otherwise."""
    while _POOLS:
        _POOLS.pop().shutdown(wait=False)


def _push_sender(config: Settings, store: Callable[[], SecretStore]) -> PushSender:
    from ecmpush.adapters.fcm_sender import FcmSender

    return FcmSender(firebase_app(config, store), chunk_size=config.fcm_chunk_size)


@cached_closing(_shutdown_pools)
def build_dispatch(config: Settings | None = None, **overrides: Unpack[DispatchParts]) -> Dispatch:
    from ecmpush.adapters.deliveries_repository import DeliveriesRepository
    from ecmpush.adapters.devices_repository import DevicesRepository
    from ecmpush.adapters.events_repository import EventsRepository
    from ecmpush.adapters.fcm_pause_store import FcmPauseStore
    from ecmpush.adapters.records_repository import RecordsRepository
    from ecmpush.domain.delivery.messages import (
        EventMessage,
        GroupPageMessage,
        NotificationMessage,
        WithdrawalMessage,
    )
    from ecmpush.services.action_tokens import ActionTokenSigner
    from ecmpush.services.audience import AudienceResolver
    from ecmpush.services.delivery import BatchDelivery, Delivery, Requeue
    from ecmpush.services.delivery_plan import Planner
    from ecmpush.services.dispatch import (
        Dispatch,
        EventHandler,
        EventRouter,
        GroupPageHandler,
        NotificationHandler,
    )
    from ecmpush.services.record_tracking import RecordTracker
    from ecmpush.services.withdrawal import WithdrawalHandler

    config = config or settings()
    part = Overrides(overrides, DispatchParts)
    store = build_secret_store
    deliveries = part(
        "deliveries",
        lambda: DeliveriesRepository(table(config.deliveries_table), config.retention_days),
    )
    options = part("options", lambda: _options(config))
    clock = part("clock", lambda: utc_now)
    pool = part("pool", lambda: _dispatch_pool(config))
    routes = part("routing", lambda: routing(config))
    links = part("links", lambda: link_policy(config))
    publisher = part("publisher", lambda: queue(config.dispatch_queue_url))
    requeue = Requeue(publisher)
    recipients = part("recipients", lambda: DevicesRepository(table(config.devices_table)))
    sender = part("sender", lambda: _push_sender(config, store))
    directory = part("directory", lambda: ecm_client(config, store))

    def key() -> bytes:  # AWSCURRENT only: new tokens always carry the newest key
        return store().text(config.action_token_secret_id).encode()

    batch = BatchDelivery(
        audience=AudienceResolver(recipients, pool),
        planner=Planner(
            routes,
            part(
                "signer",
                lambda: ActionTokenSigner(key, timedelta(hours=config.action_token_ttl_hours)),
            ),
            links,
        ),
        deliveries=deliveries,
        sender=sender,
        pause=part("pause", lambda: FcmPauseStore(table(config.deliveries_table))),
        queue=requeue,
        clock=clock,
        pool=pool,
        options=options,
    )
    delivery = Delivery(batch, requeue, options.batch_size)
    events = EventHandler(
        router=EventRouter(routes, config.app_base_url, links),
        records=RecordTracker(
            part(
                "records",
                lambda: RecordsRepository(records_table(config), config.retention_days),
            )
        ),
        tasks=part("tasks", lambda: tasks_repository(config)),
        events=part(
            "events",
            lambda: EventsRepository(table(config.events_table), config.retention_days),
        ),
        delivery=delivery,
        withdrawals=publisher,
        clock=clock,
        pool=pool,
    )
    pages = GroupPageHandler(
        directory=directory,
        delivery=delivery,
        queue=requeue,
        clock=clock,
        reserve_seconds=options.reserve_seconds,
    )
    batches = NotificationHandler(delivery=delivery, queue=requeue, clock=clock)
    withdrawals = WithdrawalHandler(
        deliveries=deliveries,
        devices=recipients,
        sender=sender,
        holders=directory,
        clock=clock,
        pool=pool,
        queue=publisher,
        send_chunk=options.send_chunk,
        reserve_seconds=options.reserve_seconds,
    )
    return Dispatch(
        {
            EventMessage: events,
            GroupPageMessage: pages,
            NotificationMessage: batches,
            WithdrawalMessage: withdrawals,
        }
    )
