"""Rendering (contract §4): routing turns an event into notifications with stable ids; render_push
turns one into an FCM push for one device (stage buttons, category, local due time, English
fallback); fit keeps the whole message under 4096 UTF-8 bytes by cutting body, then title, and
never touches the action token, deep link or notification id."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from ecmpush.domain.delivery import templates
from ecmpush.domain.delivery.devices import Device
from ecmpush.domain.delivery.notifications import Notification, notification_id
from ecmpush.domain.delivery.push import Push, WebAction
from ecmpush.domain.delivery.render import (
    FCM_PAYLOAD_LIMIT,
    PayloadTooLarge,
    collapse_key,
    fit,
    payload_size,
    render_push,
    wire_estimate,
)
from ecmpush.domain.delivery.routing import RoutingContext, route
from ecmpush.domain.ecm.task_ref import TaskRef
from ecmpush.domain.intake.events import TaskAssigned, event_adapter
from ecmpush.domain.intake.links import LinkPolicy
from tests.conftest import sample_event

NOW = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
CTX = RoutingContext(app_base_url="https://app.example.com", now=NOW)
TOKEN = "v1.eyJuIjoibiJ9.c2lnbmF0dXJl"


def task_event(**task_changes: Any) -> TaskAssigned:
    raw = sample_event("task_assigned")
    raw["data"]["task"].update(task_changes)
    raw["data"]["task"] = {k: v for k, v in raw["data"]["task"].items() if v is not None}
    event = event_adapter.validate_python(raw)
    assert isinstance(event, TaskAssigned)
    return event


def notification_for(**task_changes: Any) -> Notification:
    [notification] = route(task_event(**task_changes), CTX)
    return notification


def device(timezone: str | None = None, locale: str | None = None) -> Device:
    return Device(
        owner="asmith",
        installation_id="inst-1",
        token="fcm-token-0001",
        platform="android",
        locale=locale,
        timezone=timezone,
        created_at=NOW,
        updated_at=NOW,
    )


# --- routing ------------------------------------------------------------------------------------


def test_task_assigned_routes_one_notification_to_the_assignee() -> None:
    event = task_event()
    [notification] = route(event, CTX)
    assert notification.recipients == ["asmith"]
    assert notification.type == "task.assigned"
    assert notification.category == "approval"
    assert notification.template == "task.assigned.approval"
    assert notification.source_id == event.id
    assert notification.task is not None
    assert notification.task.key == "4711/4711/1"
    assert notification.created_at == NOW
    assert notification.due_at == datetime(2026, 12, 1, 17, 0, tzinfo=UTC)


def test_deep_link_names_the_task_and_the_notification() -> None:
    notification = notification_for()
    assert notification.deep_link == (
        f"https://app.example.com/tasks/4711/4711/1?n={notification.id}"
    )


def test_routing_is_deterministic() -> None:
    first = route(task_event(), CTX)
    again = route(task_event(), CTX)
    assert first == again
    assert first[0].id == notification_id("evt-sample-task-assigned-0001", "task.assigned")


def test_routing_id_does_not_depend_on_the_time_or_base_url() -> None:
    later = RoutingContext(app_base_url="https://other.example.com", now=datetime(2030, 1, 1))
    assert route(task_event(), CTX)[0].id == route(task_event(), later)[0].id


def test_different_event_ids_give_different_notification_ids() -> None:
    raw = sample_event("task_assigned")
    raw["id"] = "evt-other"
    other = event_adapter.validate_python(raw)
    assert route(other, CTX)[0].id != route(task_event(), CTX)[0].id


def test_notification_id_depends_on_source_and_kind() -> None:
    ids = {
        notification_id("evt-1", "task.assigned"),
        notification_id("evt-1", "sla.reminder"),
        notification_id("evt-2", "task.assigned"),
        notification_id("evt-1|task", "assigned"),
    }
    assert len(ids) == 4
    assert notification_id("evt-1", "task.assigned") == notification_id("evt-1", "task.assigned")


@pytest.mark.parametrize("name", ["task_completed", "record_expiry_scheduled"])
def test_state_only_events_yield_no_notifications(name: str) -> None:
    assert route(event_adapter.validate_python(sample_event(name)), CTX) == []


@pytest.mark.parametrize("task_id", ["a/b", "1?n=x#y", "../1"])
def test_task_ids_cannot_change_the_deep_link(task_id: str) -> None:
    with pytest.raises(ValidationError, match="Content Server id"):
        notification_for(task_id=task_id)
    notification = notification_for(process_id=" 04711 ", task_id=2)
    assert (
        notification.deep_link == f"https://app.example.com/tasks/4711/4711/2?n={notification.id}"
    )


# --- render_push: stages ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stage", "title", "category", "actions", "labels"),
    [
        (
            "approval",
            "Approval needed: Approve supplier contract ACME-2026-114",
            "ECM_APPROVAL",
            ["approve", "reject", "request_info"],
            ["Approve", "Reject", "Ask for info"],
        ),
        (
            "review",
            "Review requested: Approve supplier contract ACME-2026-114",
            "ECM_REVIEW",
            ["acknowledge", "request_info"],
            ["Acknowledge", "Ask for info"],
        ),
        (
            "task",
            "New task: Approve supplier contract ACME-2026-114",
            "ECM_ACK",
            ["acknowledge"],
            ["Acknowledge"],
        ),
    ],
)
def test_stage_decides_title_buttons_and_category(
    stage: str, title: str, category: str, actions: list[str], labels: list[str]
) -> None:
    notification = notification_for(stage=stage)
    push = render_push(notification, device(), TOKEN)
    assert push.title == title
    assert push.data["title"] == title
    assert push.apns_category == category
    assert push.click_action == category
    assert push.data["actions"] == ",".join(actions)
    assert push.web_actions == tuple(WebAction(a, t) for a, t in zip(actions, labels, strict=True))
    assert push.data["action_token"] == TOKEN
    assert push.data["category"] == stage


def test_push_carries_the_contract_data_fields() -> None:
    notification = notification_for()
    push = render_push(notification, device(), TOKEN)
    assert push.token == "fcm-token-0001"
    assert push.data["notification_id"] == notification.id
    assert push.data["type"] == "task.assigned"
    assert push.data["deep_link"] == notification.deep_link
    assert push.link == notification.deep_link
    assert push.data["due_at"] == "2026-12-01T17:00:00Z"
    assert push.data["body"] == push.body
    assert push.priority == "high"
    assert push.channel_id == "ecmpush_approval"
    assert all(isinstance(v, str) for v in push.data.values())
    assert "severity" not in push.data


def test_body_lists_document_due_priority_then_instructions() -> None:
    push = render_push(notification_for(), device(), TOKEN)
    assert push.body == (
        "Document: ACME-2026-114 Supplier Agreement.pdf · Due 2026-12-01 17:00 UTC · "
        "High priority\nCheck the liability cap in section 7 before approving."
    )


def test_body_without_optional_parts() -> None:
    notification = notification_for(instructions=None, due_at=None, priority="normal")
    notification = notification.model_copy(
        update={"params": {k: v for k, v in notification.params.items() if k != "document_name"}}
    )
    push = render_push(notification, device(), TOKEN)
    assert push.body == ""
    assert "due_at" not in push.data


def test_instructions_alone_make_the_body() -> None:
    notification = notification_for(due_at=None, priority="low")
    notification = notification.model_copy(
        update={"params": {k: v for k, v in notification.params.items() if k != "document_name"}}
    )
    assert render_push(notification, device(), TOKEN).body == (
        "Check the liability cap in section 7 before approving."
    )


def test_no_action_token_key_without_a_token() -> None:
    push = render_push(notification_for(), device(), None)
    assert "action_token" not in push.data
    assert push.data["actions"] == "approve,reject,request_info"


def test_no_action_token_for_a_notification_without_actions() -> None:
    notification = notification_for().model_copy(update={"actions": []})
    push = render_push(notification, device(), TOKEN)
    assert "action_token" not in push.data
    assert push.data["actions"] == ""
    assert push.web_actions == ()


def test_severity_is_passed_through() -> None:
    notification = notification_for().model_copy(update={"severity": "critical"})
    assert render_push(notification, device(), TOKEN).data["severity"] == "critical"


def test_braces_in_user_text_are_not_format_fields() -> None:
    push = render_push(notification_for(title="Budget {task_title} {0} {}"), device(), TOKEN)
    assert push.title == "Approval needed: Budget {task_title} {0} {}"


# --- time zones and locales ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("due_at", "timezone", "line"),
    [
        ("2026-12-01T17:00:00Z", None, "Due 2026-12-01 17:00 UTC"),
        ("2026-12-01T17:00:00Z", "Europe/Berlin", "Due 2026-12-01 18:00 CET"),
        ("2026-07-01T17:00:00Z", "Europe/Berlin", "Due 2026-07-01 19:00 CEST"),
        ("2026-12-01T17:00:00Z", "America/New_York", "Due 2026-12-01 12:00 EST"),
        ("2026-12-01T23:30:00Z", "Asia/Tokyo", "Due 2026-12-02 08:30 JST"),
        ("2026-12-01T18:00:00+01:00", None, "Due 2026-12-01 17:00 UTC"),
    ],
)
def test_due_line_is_in_the_device_time_zone(due_at: str, timezone: str | None, line: str) -> None:
    push = render_push(notification_for(due_at=due_at), device(timezone=timezone), TOKEN)
    assert line in push.body


def test_data_due_at_is_the_same_instant_for_every_device() -> None:
    notification = notification_for()
    berlin = render_push(notification, device(timezone="Europe/Berlin"), TOKEN)
    utc = render_push(notification, device(), TOKEN)
    assert berlin.data["due_at"] == utc.data["due_at"] == "2026-12-01T17:00:00Z"
    assert berlin.body != utc.body


@pytest.mark.parametrize("locale", [None, "", "en", "en-GB", "zz", "pt-BR", "ja"])
def test_unknown_locales_fall_back_to_english(locale: str | None) -> None:
    push = render_push(notification_for(), device(locale=locale), TOKEN)
    assert push.title.startswith("Approval needed: ")


@pytest.mark.parametrize("locale", ["de", "de-AT", "de_DE", "DE-ch"])
def test_a_catalog_language_is_used_with_english_for_missing_keys(
    monkeypatch: pytest.MonkeyPatch, locale: str
) -> None:
    monkeypatch.setitem(
        templates.CATALOGS, "de", {"task.assigned.approval.title": "Freigabe: {task_title}"}
    )
    push = render_push(notification_for(), device(locale=locale), TOKEN)
    assert push.title == "Freigabe: Approve supplier contract ACME-2026-114"
    assert push.body.startswith("Document: ")  # not translated: English


# --- fit ----------------------------------------------------------------------------------------


def make_push(
    title: str = "Approval needed: contract",
    body: str = "Short body",
    token: str = TOKEN,
    link: str = "https://app.example.com/tasks/1/1/1?n=nid-1",
) -> Push:
    data = {
        "notification_id": "nid-1",
        "type": "task.assigned",
        "title": title,
        "body": body,
        "deep_link": link,
        "category": "approval",
        "actions": "approve,reject,request_info",
        "action_token": token,
    }
    return Push(
        token="fcm-token-0001",
        title=title,
        body=body,
        data=data,
        link=link,
        apns_category="ECM_APPROVAL",
        click_action="ECM_APPROVAL",
        web_actions=(WebAction("approve", "Approve"), WebAction("reject", "Reject")),
        tag="nid-1",
    )


def fixed_fields(push: Push) -> dict[str, Any]:
    data = {k: v for k, v in push.data.items() if k not in ("title", "body")}
    return {
        "data": data,
        "link": push.link,
        "token": push.token,
        "category": push.apns_category,
        "actions": push.web_actions,
        "tag": push.tag,
    }


def test_a_push_that_fits_is_returned_unchanged() -> None:
    push = make_push()
    assert fit(push) is push


def test_payload_size_counts_utf8_bytes_of_title_and_body_twice() -> None:
    base = payload_size(make_push(body=""))
    assert payload_size(make_push(body="a" * 10)) - base == 2 * 10
    assert payload_size(make_push(body="ä" * 10)) - base == 2 * 2 * 10
    assert payload_size(make_push(body="€" * 10)) - base == 2 * 3 * 10
    assert payload_size(make_push(body="😀" * 10)) - base == 2 * 4 * 10


def test_fit_cuts_the_body_and_keeps_everything_else() -> None:
    push = make_push(body="b" * 5000)
    fitted = fit(push)
    assert payload_size(fitted) <= FCM_PAYLOAD_LIMIT
    assert fitted.title == push.title
    assert fitted.data["title"] == push.title
    assert fitted.body.endswith("…")
    assert push.body.startswith(fitted.body[:-1])
    assert fitted.data["body"] == fitted.body
    assert fixed_fields(fitted) == fixed_fields(push)


def test_fit_cuts_no_more_than_needed() -> None:
    fitted = fit(make_push(body="b" * 5000))
    # One more ASCII character travels twice (notification.body and data.body): 2 bytes.
    assert FCM_PAYLOAD_LIMIT - payload_size(fitted) < 2


def test_fit_cuts_the_title_only_when_an_empty_body_is_not_enough() -> None:
    push = make_push(title="T" * 3000, body="b" * 500)
    fitted = fit(push)
    assert payload_size(fitted) <= FCM_PAYLOAD_LIMIT
    assert fitted.body == ""
    assert fitted.data["body"] == ""
    assert fitted.title.endswith("…")
    assert push.title.startswith(fitted.title[:-1])
    assert fitted.data["title"] == fitted.title
    assert len(fitted.title) >= 16
    assert fixed_fields(fitted) == fixed_fields(push)


@pytest.mark.parametrize("char", ["a", "ä", "€", "😀", '"', "\\", "\n", "\u2028", "\x01"])
def test_fit_measures_multibyte_and_escaped_text_in_bytes(char: str) -> None:
    push = make_push(title="Ü" * 100, body=(char + "w") * 1500)
    fitted = fit(push)
    size = payload_size(fitted)
    assert size <= FCM_PAYLOAD_LIMIT
    assert fitted.title == push.title
    # Cut points fall between characters; at most one (char + "w") pair is lost beyond the
    # limit, and that pair travels twice.
    encoded_pair = len(json.dumps(char + "w", ensure_ascii=False).encode()) - 2
    assert FCM_PAYLOAD_LIMIT - size < 2 * encoded_pair


@pytest.mark.parametrize("char", ["x", "é", "😀", " "])
def test_fit_always_ends_under_the_limit(char: str) -> None:
    for title_length in (0, 10, 200, 1000, 2500):
        for body_length in range(0, 6000, 173):
            push = make_push(title="T" * title_length, body=(char + "w") * (body_length // 2))
            fitted = fit(push)
            assert payload_size(fitted) <= FCM_PAYLOAD_LIMIT, (title_length, body_length)
            assert fitted.data["action_token"] == TOKEN
            assert fitted.data["deep_link"] == push.data["deep_link"]
            assert fitted.data["notification_id"] == "nid-1"
            if payload_size(push) <= FCM_PAYLOAD_LIMIT:
                assert fitted == push


def test_render_push_fits_the_longest_allowed_event_text() -> None:
    notification = notification_for(title="😀" * 512, instructions="ü" * 4000)
    push = render_push(notification, device(timezone="Europe/Berlin"), "t" * 300)
    assert payload_size(push) <= FCM_PAYLOAD_LIMIT
    assert push.data["action_token"] == "t" * 300
    assert push.data["notification_id"] == notification.id
    assert push.data["deep_link"] == notification.deep_link


def test_payload_too_large_when_fixed_fields_alone_exceed_the_limit() -> None:
    with pytest.raises(PayloadTooLarge):
        fit(make_push(token="t" * FCM_PAYLOAD_LIMIT))


def test_payload_too_large_rather_than_a_title_stub() -> None:
    """The title is not cut below 16 characters: such a stub would tell the user nothing."""
    push = make_push(title="T" * 40, body="b" * 100)
    base = payload_size(make_push(title="", body=""))
    stub = "T" * 15 + "…"  # 16 characters, 18 bytes, in notification.title and data.title
    assert fit(push, limit=base + 2 * 18).title == stub
    with pytest.raises(PayloadTooLarge):
        fit(push, limit=base + 2 * 17)


def test_render_push_raises_payload_too_large_for_a_huge_token() -> None:
    with pytest.raises(PayloadTooLarge):
        render_push(notification_for(), device(), "t" * 5000)


def test_every_push_about_one_task_replaces_the_earlier_one_on_screen() -> None:
    """Assignment, reminder, escalation and confirmation of one task share a collapse key (and
    tag), so the phone shows the latest only; pushes about no task keep their own tag."""
    first = render_push(notification_for(), device(), TOKEN)
    reminder = render_push(
        notification_for().model_copy(update={"id": "n-reminder", "type": "sla.reminder"}),
        device(),
        TOKEN,
    )
    assert first.collapse_key == reminder.collapse_key == "task-4711-4711-1"
    assert first.tag == reminder.tag == first.collapse_key
    no_task = notification_for().model_copy(update={"task": None, "id": "n-field"})
    field_push = render_push(no_task, device(), TOKEN)
    assert (field_push.collapse_key, field_push.tag) == (None, "n-field")


def test_collapse_keys_stay_within_64_bytes() -> None:
    long_ids = notification_for().model_copy(
        update={"task": TaskRef(process_id="9" * 19, subprocess_id="8" * 19, task_id="7" * 19)}
    )
    key = collapse_key(long_ids)
    assert key is not None
    assert len(key.encode()) <= 64
    assert key == collapse_key(long_ids)  # stable


# --- links (issue 20, finding 4) -----------------------------------------------------------------

LINKS = LinkPolicy.of(
    "https://app.example.com", "https://ecm.example.com/otcs/cs.exe", listed="portal.example.com"
)
FOREIGN = [
    "http://pay-acme.evil.example/login",
    "https://evil.example/reset",
    "https://app.example.com@evil.example/",
    "http://portal.example.com/docs/1",
]


def _sent_links(push: Push) -> set[str]:
    """Every link the wire message carries: data.deep_link and webpush.fcm_options.link."""
    wire = wire_estimate(push)
    webpush: Any = wire["webpush"]
    return {push.data["deep_link"], webpush.get("fcm_options", {}).get("link", "")} - {""}


@pytest.mark.parametrize("url", FOREIGN)
def test_a_foreign_link_never_reaches_a_push_of_an_info_notification(url: str) -> None:
    """Defence in depth behind intake: a notification queued with a foreign link (an event
    accepted before the rule, a message written by hand) is sent with the app's own link."""
    alert = Notification(
        id="n-alert",
        type="governance.alert",
        category="governance",
        source_id="evt-1",
        recipients=["cwu"],
        template="governance.unauthorized_access",
        params={"summary": "Reset your password"},
        deep_link=url,
        apns_category="ECM_INFO",
        severity="critical",
        created_at=NOW,
    )
    push = render_push(alert, device(), None, LINKS)
    assert _sent_links(push) == {"https://app.example.com"}


@pytest.mark.parametrize("url", FOREIGN)
def test_a_task_push_with_a_foreign_link_falls_back_to_the_task_page(url: str) -> None:
    notification = notification_for().model_copy(update={"deep_link": url})
    push = render_push(notification, device(), TOKEN, LINKS)
    assert _sent_links(push) == {f"https://app.example.com/tasks/4711/4711/1?n={notification.id}"}


def test_allowed_links_are_sent_as_routed() -> None:
    notification = notification_for().model_copy(
        update={"deep_link": "https://portal.example.com/docs/1"}
    )
    push = render_push(notification, device(), TOKEN, LINKS)
    assert _sent_links(push) == {"https://portal.example.com/docs/1"}


@pytest.mark.parametrize("url", FOREIGN)
def test_routing_sends_the_apps_document_page_instead_of_a_foreign_url(url: str) -> None:
    raw = sample_event("document_published")
    raw["data"]["document"]["url"] = url
    ctx = RoutingContext("https://app.example.com", NOW, links=LINKS)
    [notification] = route(event_adapter.validate_python(raw), ctx)
    assert notification.deep_link == "https://app.example.com/documents/99001"
