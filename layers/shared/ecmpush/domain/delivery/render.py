"""Renders a notification for one device (contract §4) and keeps the whole message inside FCM's
4096-byte limit by shortening the body, then the title: never by dropping the action token, the
deep link or the notification id the reply path depends on."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import replace

from ecmpush.clock import rfc3339
from ecmpush.domain.delivery.devices import Device
from ecmpush.domain.delivery.notifications import Notification
from ecmpush.domain.delivery.push import Push, WebAction
from ecmpush.domain.delivery.routing import task_link
from ecmpush.domain.delivery.templates import render as render_text
from ecmpush.domain.ecm.task_ref import TaskRef
from ecmpush.domain.intake.links import LinkPolicy
from ecmpush.domain.replies.reply_actions import BUTTON_LABELS

FCM_PAYLOAD_LIMIT = 4096
COLLAPSE_KEY_LIMIT = 64  # apns-collapse-id's limit in bytes; the tighter of the platforms
ANDROID_CHANNEL_PREFIX = "ecmpush_"
_ELLIPSIS = "…"
_MIN_TITLE = 16


class PayloadTooLarge(ValueError):
    """Even with title and body cut to the bone the message exceeds FCM's limit."""


def wire_estimate(push: Push) -> dict[str, object]:
    """The FCM HTTP v1 message as the SDK encodes it (adapters/fcm_sender.py), minus the target
    token, which FCM does not count. Title and body travel twice (notification and data); the
    platform blocks carry only what differs per platform. A test holds this against the SDK's
    own encoding so the estimate cannot drift below reality."""
    android_notification = {"click_action": push.click_action}
    if push.tag:
        android_notification["tag"] = push.tag
    if push.channel_id:
        android_notification["channel_id"] = push.channel_id
    android: dict[str, object] = {"priority": push.priority, "notification": android_notification}
    apns_headers = {
        "apns-priority": "10" if push.priority == "high" else "5",
        "apns-push-type": "alert",
    }
    webpush: dict[str, object] = {
        "headers": {"Urgency": push.priority},
        "notification": {
            "tag": push.tag or "",
            "actions": [{"action": a.id, "title": a.title} for a in push.web_actions],
        },
    }
    if push.collapse_key:
        android["collapse_key"] = push.collapse_key
        apns_headers["apns-collapse-id"] = push.collapse_key
    if push.ttl_seconds is not None:
        android["ttl"] = f"{push.ttl_seconds}s"
        apns_headers["apns-expiration"] = "0" * 10  # epoch seconds
        webpush["headers"] = {"Urgency": push.priority, "TTL": str(push.ttl_seconds)}
    if push.link.startswith("https://"):
        webpush["fcm_options"] = {"link": push.link}
    aps = {"category": push.apns_category, "mutable-content": 1, "thread-id": push.tag or ""}
    return {
        "data": push.data,
        "notification": {"title": push.title, "body": push.body},
        "android": android,
        "apns": {"headers": apns_headers, "payload": {"aps": aps}},
        "webpush": webpush,
    }


def payload_size(push: Push) -> int:
    return len(json.dumps(wire_estimate(push), separators=(",", ":"), ensure_ascii=False).encode())


def _with_text(push: Push, title: str, body: str) -> Push:
    return replace(push, title=title, body=body, data={**push.data, "title": title, "body": body})


def _shorten(text: str, length: int) -> str:
    return text if len(text) <= length else text[: max(length - 1, 0)].rstrip() + _ELLIPSIS


def _longest_fitting(text: str, fits: Callable[[str], bool]) -> str | None:
    """The longest shortening of `text` that `fits` (binary search: a few dozen encodings)."""
    if fits(text):
        return text
    low, high = 0, len(text) - 1
    best: str | None = None
    while low <= high:
        middle = (low + high) // 2
        candidate = _shorten(text, middle) if middle else ""
        if fits(candidate):
            best, low = candidate, middle + 1
        else:
            high = middle - 1
    return best


def fit(push: Push, limit: int = FCM_PAYLOAD_LIMIT) -> Push:
    """Cut the body, then the title, until the message fits; every other field stays."""
    if payload_size(push) <= limit:
        return push
    body = _longest_fitting(
        push.body, lambda b: payload_size(_with_text(push, push.title, b)) <= limit
    )
    if body is not None:
        return _with_text(push, push.title, body)
    title = _longest_fitting(push.title, lambda t: payload_size(_with_text(push, t, "")) <= limit)
    if title is None or len(title) < _MIN_TITLE:
        raise PayloadTooLarge(f"push {push.data.get('notification_id')} cannot fit {limit} bytes")
    return _with_text(push, title, "")


def collapse_key(notification: Notification) -> str | None:
    """The same for every push about one workflow task, so the latest replaces the earlier ones
    on screen; None for pushes about no task (each stays)."""
    return task_collapse_key(notification.task) if notification.task is not None else None


def task_collapse_key(task: TaskRef) -> str:
    """`collapse_key` of the pushes about `task` (a withdrawal carries it too)."""
    key = f"task-{task.process_id}-{task.subprocess_id}-{task.task_id}"
    if len(key.encode()) <= COLLAPSE_KEY_LIMIT:
        return key
    return "task-" + hashlib.sha256(task.key.encode()).hexdigest()[:40]


def channel_id(category: str) -> str:
    """Android channel per category, so users can silence field pushes but keep approvals."""
    return f"{ANDROID_CHANNEL_PREFIX}{category}"


def safe_link(notification: Notification, links: LinkPolicy | None) -> str:
    """The notification's link when `links` allows it, else the app's own link for the same
    thing (its task page, or the app itself): whatever reached the queue (an event accepted
    before the link rule, a message written by hand), no refused link reaches a phone."""
    if links is None or links.allows(notification.deep_link):
        return notification.deep_link
    if notification.task is not None:
        return task_link(links.home, notification.task, notification.id)
    return links.home


def render_push(
    notification: Notification,
    device: Device,
    action_token: str | None,
    links: LinkPolicy | None = None,
) -> Push:
    """The push for one device. Dispatch always passes the deployment's `links`; without it
    (tests of the text and payload alone) the link is used as routed."""
    link = safe_link(notification, links)
    title, body = render_text(
        notification.template, notification.params, device.locale, device.timezone
    )
    data = {
        "notification_id": notification.id,
        "type": notification.type,
        "title": title,
        "body": body,
        "deep_link": link,
        "category": notification.category,
        "actions": ",".join(notification.actions),
    }
    if action_token and notification.actions:
        data["action_token"] = action_token
    if notification.due_at is not None:
        data["due_at"] = rfc3339(notification.due_at)
    if notification.severity:
        data["severity"] = notification.severity
    if notification.reason:
        data["reason"] = notification.reason
    push = Push(
        token=device.token,
        title=title,
        body=body,
        data=data,
        link=link,
        apns_category=notification.apns_category,
        click_action=notification.apns_category,
        web_actions=tuple(WebAction(a, BUTTON_LABELS[a]) for a in notification.actions),
        priority="high",
        collapse_key=collapse_key(notification),
        tag=collapse_key(notification) or notification.id,
        channel_id=channel_id(notification.category),
    )
    return fit(push)
