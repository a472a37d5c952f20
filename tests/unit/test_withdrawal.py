"""The withdrawal rule (domain/delivery/withdrawal.py): who keeps their push, what the quiet
replacement says in en/de/fr, and the data-only push as FCM receives it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ecmpush.adapters.fcm_sender import FcmSender
from ecmpush.domain.delivery.devices import Device
from ecmpush.domain.delivery.notifications import Notification
from ecmpush.domain.delivery.withdrawal import (
    Decision,
    Withdrawn,
    keeps_push,
    replacement,
    summary,
    withdrawable,
    withdrawal_push,
)
from ecmpush.domain.ecm.task_ref import TaskRef

AT = datetime(2026, 12, 1, 10, 42, tzinfo=UTC)
APPROVED = Decision(by="bjones", action="approve", platform="android", at=AT)
TASK = TaskRef(process_id="4711", subprocess_id="4711", task_id="1")


def _notification(type_: str, task: TaskRef | None = TASK) -> Notification:
    return Notification(
        id="n-1",
        type=type_,
        category="approval",
        source_id="evt-1",
        recipients=["asmith"],
        template="task.assigned.approval",
        deep_link="https://app.test/",
        apns_category="ECM_APPROVAL" if task else "ECM_INFO",
        task=task,
        created_at=AT,
    )


def _device(locale: str | None = None, timezone: str | None = None) -> Device:
    return Device(
        owner="asmith",
        installation_id="phone-1-8d3f1a6c2e",
        token="fcm-token-asmith-phone-000000001",
        platform="android",
        locale=locale,
        timezone=timezone,
        created_at=AT,
        updated_at=AT,
    )


@pytest.mark.parametrize(
    ("type_", "task", "expected"),
    [
        ("task.assigned", TASK, True),
        ("sla.reminder", TASK, True),
        ("sla.escalation", TASK, True),
        ("response.confirmed", TASK, False),  # the decider's own confirmation stays
        ("document.available", None, False),  # about no task: nothing decides it
    ],
)
def test_what_is_withdrawn_once_a_task_is_decided(
    type_: str, task: TaskRef | None, expected: bool
) -> None:
    assert withdrawable(_notification(type_, task)) is expected


def test_the_new_assignee_and_the_new_assignment_keep_their_push() -> None:
    def keeps(owner: str, nid: str) -> bool:
        return keeps_push(owner, nid, keep_owners=["BJones"], keep_notifications=["n-new"])

    assert keeps("bjones", "n-old")  # logins compare case-blind
    assert keeps("asmith", "n-new")
    assert not keeps("asmith", "n-old")
    assert not keeps_push("asmith", "n-old", keep_owners=(), keep_notifications=())


@pytest.mark.parametrize(
    ("locale", "timezone", "body"),
    [
        (None, None, "Done: approved on Android at 10:42"),
        ("de-DE", "Europe/Berlin", "Erledigt: genehmigt auf Android um 11:42"),
        ("fr-FR", "Europe/Paris", "Terminé : approuvé sur Android à 11:42"),
    ],
)
def test_the_quiet_replacement_speaks_the_devices_language_and_time(
    locale: str | None, timezone: str | None, body: str
) -> None:
    assert replacement(APPROVED, "Contract", locale, timezone) == ("Contract", body)


def test_the_409_names_who_decided_how_where_and_when() -> None:
    assert summary(APPROVED) == "approved by bjones on Android at 2026-12-01 10:42 UTC"
    in_ecm = Decision(action="completed", platform="ecm", at=AT)
    assert summary(in_ecm) == "completed in Content Server at 2026-12-01 10:42 UTC"


def test_the_withdrawal_is_data_only_and_carries_the_originals_collapse_key() -> None:
    push = withdrawal_push(Withdrawn("n-1", TASK, "Contract " * 40, _device()), APPROVED)
    wire = FcmSender.wire_message(push)
    assert "notification" not in wire
    data = wire["data"]
    assert (data["type"], data["notification_id"], data["tag"]) == (
        "withdrawn",
        "n-1",
        "task-4711-4711-1",
    )
    assert (data["decision"], data["decided_by"], data["decided_platform"]) == (
        "approve",
        "bjones",
        "android",
    )
    assert data["decided_at"] == "2026-12-01T10:42:00Z"
    assert len(data["title"]) <= 120  # a long task title is cut, never the push
    assert wire["android"]["collapse_key"] == "task-4711-4711-1"
    assert "notification" not in wire["android"]
    assert wire["apns"]["headers"]["apns-collapse-id"] == "task-4711-4711-1"
    aps = wire["apns"]["payload"]["aps"]
    assert aps["content-available"] == 1
    assert "sound" not in aps
    assert "notification" not in wire["webpush"]  # the service worker decides what shows
