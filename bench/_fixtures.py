"""Realistic inputs built through the product's own code: a task.assigned event (the sample in
events/ecm/task_assigned.json, with instructions of a chosen length) routed to its notification,
an action token signed for the assignee, and devices to render it for."""

from __future__ import annotations

import copy
import datetime as dt
import json
from functools import lru_cache
from typing import Any

from bench._common import REPO
from ecmpush.domain.delivery.devices import Device
from ecmpush.domain.delivery.notifications import Notification
from ecmpush.domain.delivery.push import Push
from ecmpush.domain.delivery.render import render_push
from ecmpush.domain.delivery.routing import RoutingContext, route
from ecmpush.domain.intake.events import event_adapter
from ecmpush.services.action_tokens import ActionTokenSigner

APP_BASE_URL = "https://app.test"
NOW = dt.datetime(2026, 11, 28, 10, 0, tzinfo=dt.UTC)
ACTION_KEY = b"bench-action-token-key"
# Work instructions as ECM users write them: sentences, not one repeated letter, so shortening
# cuts at realistic places. The multibyte variant costs 2-3 UTF-8 bytes per character.
_SENTENCE = (
    "Check the liability cap in section 7, the termination clause in section 12 and the "
    "supplier's insurance certificate before approving. "
)
_SENTENCE_MULTIBYTE = (
    "Prüfen Sie die Haftungsgrenze in Abschnitt 7, Kündigung (§ 12), Versicherungsnachweis "
    "und Zahlungsziel „netto 30 Tage“ vor der Freigabe. "
)


@lru_cache(maxsize=1)
def sample_event() -> dict[str, Any]:
    raw: dict[str, Any] = json.loads((REPO / "events" / "ecm" / "task_assigned.json").read_text())
    return raw


def instructions(length: int, multibyte: bool = False) -> str:
    sentence = _SENTENCE_MULTIBYTE if multibyte else _SENTENCE
    text = (sentence * (length // len(sentence) + 1))[:length]
    return text.rstrip()


def task_event(
    event_id: str = "evt-bench-0001", instructions_text: str | None = None
) -> dict[str, Any]:
    """The sample task.assigned event with its own id and, optionally, other instructions."""
    event = copy.deepcopy(sample_event())
    event["id"] = event_id
    if instructions_text is not None:
        event["data"]["task"]["instructions"] = instructions_text
    return event


def notification_for(event: dict[str, Any]) -> Notification:
    """The notification dispatch routes the event to (exactly one for task.assigned)."""
    (notification,) = route(event_adapter.validate_python(event), RoutingContext(APP_BASE_URL, NOW))
    return notification


def action_token(notification: Notification) -> str | None:
    signer = ActionTokenSigner(lambda: ACTION_KEY, dt.timedelta(hours=168))
    return signer.for_recipient(notification, notification.recipients[0], NOW)


def device(index: int, owner: str = "asmith") -> Device:
    """A registered Android device; the token has the length and alphabet of an FCM
    registration token (not an FID, so it travels as `token`)."""
    token = f"bench{index:06d}:APA91b" + ("Xq3-Zr8_" * 18)[:141]
    return Device(
        owner=owner,
        installation_id=f"inst-{index:06d}",
        token=token,
        platform="android",
        locale="en-US",
        timezone="Europe/Berlin",
        app_version="1.0.0",
        created_at=NOW,
        updated_at=NOW,
    )


def pushes(count: int, instructions_length: int | None = None) -> list[Push]:
    """`count` pushes of one notification, one per device, as dispatch renders them."""
    text = None if instructions_length is None else instructions(instructions_length)
    notification = notification_for(task_event(instructions_text=text))
    token = action_token(notification)
    return [render_push(notification, device(i), token) for i in range(count)]
