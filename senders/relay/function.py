"""The relay's poll as the scheduled RelayPollFunction (template.yaml, parameter EnableRelay):
the very `poll` that `ecmpush-relay poll` runs, wired to what the stack has instead of what a
host next to Content Server has (`ecmpush.bootstrap.build_relay_poll`; docs/relay.md):

- Content Server through the stack's own client (EcmBaseUrl, EcmCredentialsSecret);
- the state in a RecordsTable item (`#relay:state`, with a revision: `TableStateStore`), not a file;
- the events handed straight to the webhook intake's checks and accept-once in-process
  (`ecmpush.bootstrap.relay.build_relay_poll`), not POSTed: a function in Content Server's VPC
  then needs no route to API Gateway (NAT), no webhook secret and no API key, and each event
  is still validated and accepted once by its id, so the function and a standalone relay
  announcing the same step meet as `duplicate`.

Shipped in the function's own artifact (functions/relay_poll/Makefile copies senders/relay),
not in SharedLayer: the layer stays the same for every other function."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ecmpush.clock import utc_now
from senders.relay.config import RelayConfig, RelayConfigError, map_rules
from senders.relay.poller import PollReport, RunningWorkflows, poll
from senders.relay.state import StateStore, TableStateStore
from senders.relay.webhook import MAX_BATCH

if TYPE_CHECKING:
    from ecmpush.bootstrap.relay import RelayPollStack


def function_config(stack: RelayPollStack) -> RelayConfig:
    """The relay configuration the function's parameters give (RelayMaps, RelayDefaultStage,
    RelayTenant). There is no webhook to post to and no state file: those stay empty."""
    try:
        maps = json.loads(stack.maps or "{}")
    except json.JSONDecodeError as exc:
        raise RelayConfigError(f"ECMPUSH_RELAY_MAPS (RelayMaps) is not JSON: {exc.msg}") from None
    rules, default_stage = map_rules(maps, stack.default_stage)
    if not stack.tenant:
        raise RelayConfigError("ECMPUSH_RELAY_TENANT (RelayTenant) is required")
    return RelayConfig(
        webhook_url="",
        webhook_secret="",
        tenant=stack.tenant,
        ecm_base_url=stack.ecm_base_url,
        ecm_secret={},
        state_file=Path(),
        maps=rules,
        default_stage=default_stage,
        app_base_url=stack.app_base_url,
    )


def intake_delivery(
    receive: Callable[[bytes], list[dict[str, Any]]],
) -> Callable[[Sequence[Mapping[str, Any]]], dict[str, str]]:
    """`Deliver` for the function: each batch through intake's checks and accept-once; the
    answers are the webhook's per-event statuses."""

    def deliver(events: Sequence[Mapping[str, Any]]) -> dict[str, str]:
        outcome: dict[str, str] = {}
        for start in range(0, len(events), MAX_BATCH):
            body = json.dumps({"events": list(events[start : start + MAX_BATCH])}).encode()
            for result in receive(body):
                outcome[str(result["id"])] = str(result["status"])
        return outcome

    return deliver


@dataclass(frozen=True)
class RelayPoll:
    config: RelayConfig
    ecm: Callable[[], RunningWorkflows]
    store: StateStore
    deliver: Callable[[Sequence[Mapping[str, Any]]], dict[str, str]]

    @classmethod
    def of(cls, stack: RelayPollStack) -> RelayPoll:
        return cls(
            config=function_config(stack),
            ecm=stack.ecm,
            store=TableStateStore(stack.state),
            deliver=intake_delivery(stack.receive),
        )

    def run(self, now: datetime | None = None) -> PollReport:
        """One poll of Content Server as it is now (`now` fixes the clock for tests)."""
        when = now or utc_now()
        return poll(self.config, self.ecm(), self.deliver, lambda: when, store=self.store)
