"""The scheduled relay poll (functions/relay_poll, EnableRelay): what the stack gives the
relay's `poll` (senders/relay/function.py runs it) - Content Server through the stack's client,
the state item, intake's in-process door and the relay settings. The relay's own modules are
not in SharedLayer, so this builds only the stack's side of it. Intake without the webhook's
signature check (`receive`): the events are built here and cross no network, so this function
needs neither the webhook secret nor an API key."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypedDict, Unpack

from ecmpush.bootstrap.cache import Overrides, cached
from ecmpush.bootstrap.intake import accept_once_builder, idempotency_config
from ecmpush.bootstrap.parts import (
    build_secret_store,
    ecm_client,
    link_policy,
    recipient_caps,
    records_table,
)
from ecmpush.settings import Settings, settings

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig

    from ecmpush.adapters.ecm.client import EcmClient
    from ecmpush.ports import RelayStatePort


class RelayPollParts(TypedDict, total=False):
    """What a test may hand `build_relay_poll` instead of the real thing."""

    ecm: Callable[[], EcmClient]
    state: RelayStatePort
    receive: Callable[[bytes], list[dict[str, Any]]]


@dataclass(frozen=True)
class RelayPollStack:
    """The stack's side of the relay poll. `maps` is relay.json's `maps` as JSON text."""

    ecm: Callable[[], EcmClient]
    state: RelayStatePort
    # Intake in-process: a JSON body of events -> one answer per event, as the webhook's 207.
    receive: Callable[[bytes], list[dict[str, Any]]]
    idempotency: IdempotencyConfig  # the handler registers each invocation's context with it
    maps: str
    default_stage: str
    tenant: str
    ecm_base_url: str
    app_base_url: str


@cached
def build_relay_poll(
    config: Settings | None = None, **overrides: Unpack[RelayPollParts]
) -> RelayPollStack:
    from ecmpush.adapters.relay_state_item import RelayStateItem
    from ecmpush.entrypoints.webhook_body import check_size, parse_body
    from ecmpush.services.webhook_intake import WebhookIntakeService

    config = config or settings()
    part = Overrides(overrides, RelayPollParts)
    idempotency = idempotency_config(config)
    service = WebhookIntakeService(accept_once_builder(config, idempotency))
    caps, links = recipient_caps(config), link_policy(config)

    def receive(body: bytes) -> list[dict[str, Any]]:
        """The webhook's checks but the signature (size, JSON, schema, recipient caps, link
        hosts), then accept-once: the events were built here and crossed no network."""
        check_size(body)
        parsed = parse_body(body, caps, links)
        return [i.refusal() if i.event is None else service.accept(i.event) for i in parsed.items]

    return RelayPollStack(
        ecm=part("ecm", lambda: ecm_client(config, build_secret_store)),
        state=part("state", lambda: RelayStateItem(records_table(config))),
        receive=part("receive", lambda: receive),
        idempotency=idempotency,
        maps=config.relay_maps,
        default_stage=config.relay_default_stage,
        tenant=config.relay_tenant,
        ecm_base_url=config.ecm_base_url,
        app_base_url=config.app_base_url,
    )
