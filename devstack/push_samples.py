"""Sample Android and iOS pushes for every immediate flow, produced by the real code path
(routing → `render_push` → `to_message` → firebase-admin's own wire encoding), so the samples in
docs/clients.md cannot drift from what FCM receives. `make samples` rewrites the block between
the markers; a test fails when it is stale."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from typing import Any

from firebase_admin import messaging

from devstack.template import REPO_ROOT
from ecmpush.adapters.fcm_sender import to_message
from ecmpush.domain.confirmations import confirmation
from ecmpush.domain.devices import Device
from ecmpush.domain.events import event_adapter
from ecmpush.domain.notifications import Notification
from ecmpush.domain.render import render_push
from ecmpush.domain.replies import ReplyStatus
from ecmpush.domain.routing import RoutingContext, route
from ecmpush.domain.routing_config import RoutingConfig
from ecmpush.domain.write_back import WriteBack

DOC = REPO_ROOT / "docs" / "clients.md"
BEGIN, END = "<!-- push-samples:begin (make samples) -->", "<!-- push-samples:end -->"
NOW = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
BASE = "https://app.example.com"
ACTION_TOKEN = "v1.eyJuIjoi…(claims)….(signature)"
ROUTING = {
    "roles": {"compliance_officer": ["cwu"], "administrator": ["dlee"], "records_manager": ["cwu"]},
    "teams": {"field-north": ["cwu"]},
    "external_channels": ["android", "ios"],
}


def _event(name: str, **task: str) -> Any:
    event = json.loads((REPO_ROOT / "events" / "ecm" / f"{name}.json").read_text())
    event["data"].get("task", {}).update(task)
    return event_adapter.validate_python(event)


def _flows() -> list[tuple[str, Notification]]:
    config = RoutingConfig.model_validate(ROUTING)
    ctx = RoutingContext(BASE, NOW, lambda: config)
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
    reply = WriteBack(
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


def _wire(notification: Notification, platform: str) -> dict[str, Any]:
    device = Device(
        owner=notification.recipients[0],
        installation_id=f"sample-{platform}",
        token=f"fcm-token-of-the-{platform}-device",
        platform=platform,
        locale="en-GB",
        timezone="Europe/Berlin",
        created_at=NOW,
        updated_at=NOW,
    )
    token = ACTION_TOKEN if notification.actions else None
    push = render_push(notification, device, token)
    wire: dict[str, Any] = messaging._MessagingService.encode_message(to_message(push))
    # Keep only what this platform's app sees (FCM drops the other platforms' blocks).
    other = {"android": ("apns", "webpush"), "ios": ("android", "webpush")}[platform]
    return {k: v for k, v in wire.items() if k not in other}


def render_block() -> str:
    parts = [BEGIN]
    for label, notification in _flows():
        parts.append(f"\n#### {label}\n")
        for platform in ("android", "ios"):
            body = json.dumps(
                {"message": _wire(notification, platform)},
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
