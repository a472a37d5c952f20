"""A push for one device, independent of the FCM SDK, so rendering and the 4 KiB budget can be
decided (and tested) in the domain while the adapter only translates to `messaging.Message`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Priority = Literal["normal", "high"]


@dataclass(frozen=True)
class WebAction:
    """A webpush notification button; `id` is the reply action the service worker posts back."""

    id: str
    title: str


@dataclass(frozen=True)
class Push:
    """Everything FCM needs to show one notification on one device (contract §4)."""

    token: str
    title: str
    body: str
    data: dict[str, str]
    link: str
    apns_category: str
    click_action: str
    web_actions: tuple[WebAction, ...] = ()
    priority: Priority = "high"
    # One per workflow task: a reminder, an escalation or the confirmation replaces the earlier
    # push of the same task on screen (Android tag, apns-collapse-id, web push tag; <= 64 bytes).
    collapse_key: str | None = None
    ttl_seconds: int | None = None
    tag: str | None = field(default=None)
    channel_id: str | None = None  # the Android notification channel the app creates per category
    # A withdrawal (domain/delivery/withdrawal.py): no notification block, so Android and the
    # web hand it to the app / service worker, which close the push with the same tag; iOS gets
    # a silent alert with the same apns-collapse-id that replaces the withdrawn one.
    data_only: bool = False
