"""The first step of a delivery batch: what each recipient gets now (a rendered push per
device), what is muted, deferred or failed, and the facts to record. Pure domain work besides
the action-token key, so a failure is one recipient's alone."""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import datetime

from ecmpush.clock import rfc3339
from ecmpush.domain.delivery.delivery_policy import Verdict, decide
from ecmpush.domain.delivery.devices import Device
from ecmpush.domain.delivery.notifications import Notification
from ecmpush.domain.delivery.outcomes import (
    NO_DEVICE_ID,
    DeliveryOutcome,
    DeliveryStatus,
    DeliveryTarget,
    PolicyOutcome,
)
from ecmpush.domain.delivery.push import Push
from ecmpush.domain.delivery.recipient import Recipient
from ecmpush.domain.delivery.render import PayloadTooLarge, render_push
from ecmpush.domain.delivery.routing_config import RoutingConfig
from ecmpush.domain.intake.links import LinkPolicy
from ecmpush.privacy import who
from ecmpush.services.action_tokens import ActionTokenSigner
from ecmpush.services.dispatch_report import DispatchReport

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Pending:
    target: DeliveryTarget
    device: Device
    push: Push


@dataclass
class Plan:
    """What one batch decided before sending: pushes to claim and send, facts to record."""

    pending: list[Pending] = field(default_factory=list)
    outcomes: list[DeliveryOutcome] = field(default_factory=list)
    policies: list[PolicyOutcome] = field(default_factory=list)
    deferred: dict[datetime, list[str]] = field(default_factory=lambda: defaultdict(list))

    def report(self) -> DispatchReport:
        """The plan's counts, read from what it records (one place decides each count)."""
        statuses = Counter(o.status for o in self.outcomes)
        verdicts = Counter(p.outcome for p in self.policies)
        return DispatchReport(
            failed=statuses[DeliveryStatus.FAILED],
            no_device=statuses[DeliveryStatus.NO_DEVICE],
            muted=verdicts["muted"],
            deferred=verdicts["deferred"],
        )


class Planner:
    def __init__(
        self,
        routing: Callable[[], RoutingConfig],
        signer: ActionTokenSigner,
        links: LinkPolicy,
    ) -> None:
        self._routing = routing
        self._signer = signer
        self._links = links

    def plan(self, notification: Notification, reach: dict[str, Recipient], now: datetime) -> Plan:
        plan = Plan()
        approved = (
            set(self._routing().external_channels) if notification.audience == "external" else None
        )
        for owner in dict.fromkeys(notification.recipients):
            recipient = reach.get(owner)
            if recipient is None:
                plan.policies.append(PolicyOutcome(owner, "wrong_audience"))
                continue
            try:
                devices = _devices_now(notification, recipient, approved, now, plan)
            except Exception as exc:  # one recipient's fault: logged, recorded, others go on
                _log_unrenderable(notification, owner, None, exc)
                for device in recipient.devices:
                    _fail_device(owner, device, exc, plan)
                continue
            if not devices:
                continue
            # Outside the guards: the signing key may come from Secrets Manager, and an outage
            # there is a retry of the message, not a failed delivery.
            token = self._signer.for_recipient(notification, owner, now)
            for device in devices:
                try:
                    push = render_push(notification, device, token, self._links)
                except Exception as exc:  # e.g. a due date beyond year 9999 in the device's zone
                    if not isinstance(exc, PayloadTooLarge):
                        _log_unrenderable(notification, owner, device, exc)
                    _fail_device(owner, device, exc, plan)
                    continue
                target = DeliveryTarget(owner, device.installation_id, device.platform)
                plan.pending.append(Pending(target, device, push))
        return plan


def _devices_now(
    notification: Notification,
    recipient: Recipient,
    approved: Collection[str] | None,
    now: datetime,
    plan: Plan,
) -> list[Device]:
    """The recipient's devices to render a push for now: none when their preferences mute or
    defer it, or they have no (approved) device, each recorded in `plan`."""
    owner = recipient.owner
    if not _allowed_now(notification, recipient, now, plan):
        return []
    devices = list(recipient.devices)
    if approved is not None:
        devices = [d for d in recipient.devices if d.platform in approved]
        if recipient.devices and not devices:
            plan.policies.append(PolicyOutcome(owner, "no_approved_channel"))
    if not devices:
        target = DeliveryTarget(owner, NO_DEVICE_ID, "")
        plan.outcomes.append(DeliveryOutcome(target, DeliveryStatus.NO_DEVICE))
    return devices


def _allowed_now(
    notification: Notification, recipient: Recipient, now: datetime, plan: Plan
) -> bool:
    """True when the push goes out now; muted and deferred ones are recorded (deferred ones
    grouped by when their quiet period ends, to be queued again then)."""
    decision = decide(notification, recipient.preferences, now)
    owner = recipient.owner
    if decision.verdict is Verdict.MUTED:
        plan.policies.append(PolicyOutcome(owner, "muted"))
        return False
    if decision.verdict is Verdict.DEFER:
        assert decision.until is not None
        plan.policies.append(PolicyOutcome(owner, "deferred", rfc3339(decision.until)))
        plan.deferred[decision.until].append(owner)
        return False
    if decision.bypassed:
        plan.policies.append(PolicyOutcome(owner, "bypassed", decision.bypassed))
    return True


def _log_unrenderable(
    notification: Notification, owner: str, device: Device | None, exc: Exception
) -> None:
    """A push that cannot be built (issue 20 finding 6) is logged as an error, never a silent
    retry into the DLQ."""
    log.error(
        "notification %s not rendered for %s%s: %s: %s",
        notification.id,
        who(owner),
        f" on {device.installation_id}" if device else "",
        type(exc).__name__,
        exc,
        exc_info=exc,
    )


def _fail_device(owner: str, device: Device, exc: Exception, plan: Plan) -> None:
    """That delivery alone is recorded as failed (final: a retry would fail the same way),
    and the message completes for everyone else."""
    if isinstance(exc, PayloadTooLarge):
        code, text = "PAYLOAD_TOO_LARGE", str(exc)
    else:
        code, text = "RENDER_FAILED", f"{type(exc).__name__}: {exc}"
    target = DeliveryTarget(owner, device.installation_id, device.platform)
    plan.outcomes.append(
        DeliveryOutcome(target, DeliveryStatus.FAILED, error_code=code, error_message=text)
    )
