"""Sample Android and iOS pushes for every flow, produced by the real code path (routing, or the
sweeps' own decisions for the scheduled flows → `render_push` → `to_message` → firebase-admin's
own wire encoding), so the samples in docs/clients.md cannot drift from what FCM receives.
`make samples` rewrites the block between the markers; a test fails when it is stale or when a
flow has no sample."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from firebase_admin import messaging

from devstack.template import REPO_ROOT
from ecmpush.adapters.fcm_sender import to_message
from ecmpush.domain.delivery.devices import Device
from ecmpush.domain.delivery.notifications import Notification
from ecmpush.domain.delivery.render import render_push
from ecmpush.domain.delivery.routing import RoutingContext, route
from ecmpush.domain.delivery.routing_config import RoutingConfig
from ecmpush.domain.delivery.withdrawal import Decision, Withdrawn, withdrawal_push
from ecmpush.domain.intake.events import RecordExpiryScheduled, TaskAssigned, event_adapter
from ecmpush.domain.intake.links import LinkPolicy
from ecmpush.domain.replies.confirmations import confirmation
from ecmpush.domain.replies.requests import ReplyStatus
from ecmpush.domain.replies.write_back import Reply
from ecmpush.domain.sweeps.expiry import ExpiryPolicy, TrackedRecord, decide
from ecmpush.domain.sweeps.expiry_notices import DueNotice, recipients_of
from ecmpush.domain.sweeps.expiry_notices import notifications_for as expiry_notifications
from ecmpush.domain.sweeps.sla import ESCALATION, SlaPolicy, step_for
from ecmpush.domain.sweeps.snooze import snoozed_notification
from ecmpush.domain.sweeps.tasks import from_assigned
from ecmpush.domain.sweeps.unseen import UNSEEN_ESCALATION, unseen_step_for

DOC = REPO_ROOT / "docs" / "clients.md"
BEGIN, END = "<!-- push-samples:begin (make samples) -->", "<!-- push-samples:end -->"
NOW = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
BASE = "https://app.example.com"
# The sample events link to a Content Server and a customer portal the operator lists.
LINKS = LinkPolicy.of(BASE, "https://ecm.example.com/otcs/cs.exe", listed="portal.example.com")
ACTION_TOKEN = "v1.eyJuIjoi…(claims)….(signature)"
ROUTING = {
    "roles": {
        "compliance_officer": ["cwu"],
        "administrator": ["dlee"],
        "records_manager": ["cwu"],
        "legal": ["dlee"],
        "account_manager": ["bjones"],
    },
    "teams": {"field-north": ["cwu"]},
    "external_channels": ["android", "ios"],
}


def _event(name: str, **task: str) -> Any:
    event = json.loads((REPO_ROOT / "events" / "ecm" / f"{name}.json").read_text())
    event["data"].get("task", {}).update(task)
    return event_adapter.validate_python(event)


def _flows() -> list[tuple[str, Notification]]:
    config = RoutingConfig.model_validate(ROUTING)
    ctx = RoutingContext(BASE, NOW, lambda: config, LINKS)
    flows: list[tuple[str, Notification]] = []
    for label, name, task in (
        ("task.assigned, approval step (ECM_APPROVAL)", "task_assigned", {"stage": "approval"}),
        ("task.assigned, review step (ECM_REVIEW)", "task_assigned", {"stage": "review"}),
        ("task.assigned, plain task (ECM_ACK)", "task_assigned", {"stage": "task"}),
        ("document.available (field teams)", "document_available", {}),
        ("document.published (external stakeholder)", "document_published", {}),
        ("governance.alert", "governance_alert", {}),
    ):
        flows.append((label, route(_event(name, **task), ctx)[0]))
    approval = flows[0][1]
    assert approval.task is not None
    flows += _expiry_flows(config)
    flows += _sla_flows(_event("task_assigned"), approval.id)
    reply = Reply(
        response_id="r-3adca368",
        notification_id=approval.id,
        ecm_user="asmith",
        task=approval.task,
        action="approve",
        platform="android",
        replied_at=NOW,
    )
    done = confirmation(reply, ReplyStatus.APPLIED, "Approve supplier contract", BASE, NOW)
    flows.append(("response.confirmed (after a reply)", done))
    return flows


def _tracked(event: RecordExpiryScheduled, **changes: Any) -> TrackedRecord:
    """The record as RecordsTable keeps it after the webhook stored `event` (with `changes`)."""
    record = event.data.record
    return TrackedRecord(
        record_key=record.node_id,
        node_id=record.node_id,
        name=record.name,
        kind=record.kind,
        expires_at=record.expires_at,
        url=record.url,
        owners=tuple(owner.user_id for owner in event.data.owners),
        notify_roles=tuple(event.data.notify_roles or ()),
    ).model_copy(update=changes)


def _expiry_flows(config: RoutingConfig) -> list[tuple[str, Notification]]:
    """The daily sweep 30 days before two contracts of different owners expire: an owner gets
    the warning about the record, the legal team (who hears of both) one digest."""
    event = _event("record_expiry_scheduled")
    assert isinstance(event, RecordExpiryScheduled)
    records = [
        _tracked(event),
        _tracked(
            event,
            record_key="77002",
            node_id="77002",
            name="Master Services Agreement Initech",
            owners=("cwu",),
            notify_roles=("legal",),
        ),
    ]
    policy = ExpiryPolicy()
    now = records[0].expires_at - timedelta(days=30) + timedelta(hours=7)  # the 07:00 sweep
    notices = []
    for record in records:
        decision = decide(record, policy, now)
        assert decision.stage == "30", decision
        members = config.members_of_roles(list(record.notify_roles))
        recipients = recipients_of(record.owners, members)
        notices.append(DueNotice(record, decision.stage, decision.days_left, recipients))
    by_recipient = {n.recipients[0]: n for n in expiry_notifications(notices, BASE, now)}
    owner, legal = records[0].owners[0], config.members_of_roles(["legal"])[0]
    return [
        ("expiry.warning, one record (owner, 30 days before)", by_recipient[owner]),
        ("expiry.warning, digest (legal, two records in the window)", by_recipient[legal]),
    ]


def _sla_flows(event: object, original_id: str) -> list[tuple[str, Notification]]:
    """The SLA sweep at the task's due time (reminder to the assignee) and SlaGraceHours later
    (escalation: the assignee's configured deputy gets the step's buttons, the event's supervisor
    and backup are told without them)."""
    assert isinstance(event, TaskAssigned)
    task = from_assigned(event, original_id, NOW)
    assert task.due_at is not None
    policy = SlaPolicy()
    reminder = step_for(task, policy, BASE, task.due_at)
    escalated = task.model_copy(update={"sla_level": ESCALATION})
    escalation = step_for(escalated, policy, BASE, task.due_at + policy.grace, ("dlee",))
    assert reminder is not None
    assert escalation is not None
    [to_assignee] = reminder.notifications
    to_deputy, to_supervisor = escalation.notifications
    return [
        ("sla.reminder (assignee, at the due time)", to_assignee),
        ("sla.escalation (a configured deputy, after the grace period)", to_deputy),
        ("sla.escalation (the event's supervisor and backup: told, no buttons)", to_supervisor),
        *_not_seen_flows(event, original_id),
    ]


def _not_seen_flows(event: TaskAssigned, original_id: str) -> list[tuple[str, Notification]]:
    """Not seen → the next person (the routing document's `unseen` section: a high-priority
    approval unseen for an hour, then three more) and a snoozed push coming back."""
    config = RoutingConfig.model_validate(
        {"unseen": {"approval": {"high": "PT1H"}, "escalate_after": "PT3H"}}
    )
    assert config.unseen is not None
    after = config.unseen.first_check("approval", "high")
    task = from_assigned(event, original_id, NOW, after)
    assert task.unseen_at is not None
    reminder = unseen_step_for(task, config.unseen, BASE, task.unseen_at)
    later = task.unseen_at + config.unseen.escalate_after
    escalated = task.model_copy(update={"unseen_level": UNSEEN_ESCALATION, "unseen_at": later})
    escalation = unseen_step_for(escalated, config.unseen, BASE, later, ("dlee",))
    assert reminder is not None
    assert escalation is not None
    [to_assignee] = reminder.notifications
    to_deputy, _ = escalation.notifications
    snoozed = task.model_copy(update={"snoozes": 1})
    return [
        ("sla.reminder, not seen (assignee, an hour after an unseen push)", to_assignee),
        ("sla.escalation, not seen (a configured deputy, early)", to_deputy),
        (
            'task.snoozed (assignee, after "remind me later")',
            snoozed_notification(snoozed, BASE, NOW),
        ),
    ]


def _device(notification: Notification, platform: str) -> Device:
    return Device(
        owner=notification.recipients[0],
        installation_id=f"sample-{platform}",
        token=f"fcm-token-of-the-{platform}-device",
        platform=platform,
        locale="en-GB",
        timezone="Europe/Berlin",
        created_at=NOW,
        updated_at=NOW,
    )


def _wire(notification: Notification, platform: str) -> dict[str, Any]:
    device = _device(notification, platform)
    token = ACTION_TOKEN if notification.actions else None
    push = render_push(notification, device, token, LINKS)
    wire: dict[str, Any] = messaging._MessagingService.encode_message(to_message(push))
    # Keep only what this platform's app sees (FCM drops the other platforms' blocks).
    other = {"android": ("apns", "webpush"), "ios": ("android", "webpush")}[platform]
    return {k: v for k, v in wire.items() if k not in other}


def _withdrawal_wire(notification: Notification, platform: str) -> dict[str, Any]:
    """The data-only `withdrawn` push that takes `notification` off a device once its task was
    approved on another one (docs/design/withdrawal.md)."""
    assert notification.task is not None
    device = _device(notification, platform)
    decision = Decision(by="asmith", action="approve", platform="android", at=NOW)
    title = notification.params.get("task_title", "")
    push = withdrawal_push(Withdrawn(notification.id, notification.task, title, device), decision)
    wire: dict[str, Any] = messaging._MessagingService.encode_message(to_message(push))
    other = {"android": ("apns", "webpush"), "ios": ("android", "webpush")}[platform]
    return {k: v for k, v in wire.items() if k not in other}


def _samples() -> list[tuple[str, Callable[[str], dict[str, Any]]]]:
    """Each flow's push per platform, then the withdrawal of the first (the approval)."""
    flows = _flows()
    samples: list[tuple[str, Callable[[str], dict[str, Any]]]] = [
        (label, partial(_wire, notification)) for label, notification in flows
    ]
    label = "withdrawn (the approval above, approved on another device)"
    samples.append((label, partial(_withdrawal_wire, flows[0][1])))
    return samples


def render_block() -> str:
    parts = [BEGIN]
    for label, wire in _samples():
        parts.append(f"\n#### {label}\n")
        for platform in ("android", "ios"):
            body = json.dumps(
                {"message": wire(platform)},
                indent=2,
                sort_keys=True,
                ensure_ascii=False,
            )
            parts.append(f"{platform}:\n\n```json\n{body}\n```\n")
    parts.append(END)
    return "\n".join(parts)


def updated_doc(text: str) -> str:
    head, _, rest = text.partition(BEGIN)
    _, _, tail = rest.partition(END)
    return head + render_block() + tail


def main() -> int:
    DOC.write_text(updated_doc(DOC.read_text()))
    print(f"wrote samples into {DOC}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
