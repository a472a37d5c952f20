"""When a task leaves a person's hands, the pushes about it still on devices are withdrawn: who
decided (the `Decision`), which pushes are withdrawn and which stay, and the quiet line that
replaces a withdrawn push where something must be shown. Plain rules, no AWS.
Why: docs/design/withdrawal.md."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict

from ecmpush.clock import rfc3339
from ecmpush.domain.delivery.devices import Device
from ecmpush.domain.delivery.notifications import Notification
from ecmpush.domain.delivery.push import Push
from ecmpush.domain.delivery.render import task_collapse_key
from ecmpush.domain.delivery.templates import render
from ecmpush.domain.ecm.task_ref import TaskRef

WITHDRAWN_TYPE = "withdrawn"
# Why a withdrawal was sent: one metric dimension each (the path that took the task away).
WithdrawalReason = Literal["replied", "handed_over", "completed", "sla_recheck", "reassigned"]
DecisionAction = Literal[
    "approve", "reject", "acknowledge", "request_info", "completed", "reassigned", "taken"
]
DecisionPlatform = Literal["android", "ios", "web", "ecm"]

# Pushes about a task that are never withdrawn: they tell the decider what became of the
# decision (a confirmation) or are themselves the withdrawal.
KEPT_TYPES = frozenset({"response.confirmed", WITHDRAWN_TYPE})
TITLE_CHARS = 120  # the task title in a withdrawal: the push is a short line, never cut by FCM


class Decision(BaseModel):
    """Who took the task out of the recipients' hands, how, from where and when. `by` is None
    when Content Server did not say (a `task.completed` without `completed_by`, the SLA
    sweep's re-check, a reassignment); `platform` is None for a reply from an app that did not
    name its installation."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    by: str | None = None
    action: DecisionAction
    platform: DecisionPlatform | None = None
    at: datetime


def decision_item(decision: Decision) -> dict[str, str]:
    """A decision as stored (notification header, tracked task): its JSON form without the
    fields nobody knows."""
    return {k: v for k, v in decision.model_dump(mode="json").items() if v is not None}


def withdrawable(notification: Notification) -> bool:
    """Whether pushes of `notification` are withdrawn once its task is decided: every push
    about a task (assignment, reminders, escalations, pushes coming back) but the kept kinds."""
    return notification.task is not None and notification.type not in KEPT_TYPES


def keeps_push(
    owner: str,
    notification_id: str,
    *,
    keep_owners: Collection[str],
    keep_notifications: Collection[str],
) -> bool:
    """A push stays on its device when it is one of the notifications that stay (the new
    assignment of a reassigned task) or its owner still holds the task (the new assignee, the
    members of a group step Content Server still lists). Owners compare case-blind, as
    Content Server logins do."""
    return notification_id in keep_notifications or owner.casefold() in {
        k.casefold() for k in keep_owners
    }


def _clock_time(moment: datetime, timezone: str | None) -> str:
    zone = ZoneInfo(timezone) if timezone else UTC
    return moment.astimezone(zone).strftime("%H:%M")


def replacement(
    decision: Decision, task_title: str, locale: str | None, timezone: str | None
) -> tuple[str, str]:
    """The quiet replacement's title and body in the device's language and zone, e.g.
    ("Approve supplier contract", "Done: approved on Android at 10:42")."""
    params = {
        "task_title": _short(task_title) or "—",
        "decision": decision.action,
        "platform": decision.platform or "app",
        "time": _clock_time(decision.at, timezone),
    }
    return render(WITHDRAWN_TYPE, params, locale, timezone)


@dataclass(frozen=True)
class Withdrawn:
    """A push on a device to withdraw: which notification (id, task, title) and which device."""

    notification_id: str
    task: TaskRef
    task_title: str
    device: Device


def withdrawal_push(withdrawn: Withdrawn, decision: Decision) -> Push:
    """The data-only `withdrawn` push for one device: the withdrawn push's id and tag (the
    collapse key of its task), who decided, and the quiet line in the device's language."""
    device = withdrawn.device
    title, body = replacement(decision, withdrawn.task_title, device.locale, device.timezone)
    tag = task_collapse_key(withdrawn.task)
    data = {
        "notification_id": withdrawn.notification_id,
        "type": WITHDRAWN_TYPE,
        "tag": tag,
        "title": title,
        "body": body,
        "decision": decision.action,
        "decided_by": decision.by or "",
        "decided_platform": decision.platform or "",
        "decided_at": rfc3339(decision.at),
    }
    return Push(
        token=device.token,
        title=title,
        body=body,
        data=data,
        link="",
        apns_category="",
        click_action="",
        priority="normal",
        collapse_key=tag,
        tag=tag,
        data_only=True,
    )


def _short(text: str) -> str:
    return text if len(text) <= TITLE_CHARS else text[: TITLE_CHARS - 1].rstrip() + "…"


_ACTION_WORDS = {
    "approve": "approved",
    "reject": "rejected",
    "acknowledge": "acknowledged",
    "request_info": "sent back for more information",
    "completed": "completed",
    "reassigned": "reassigned",
    "taken": "taken by another member",
}
_PLATFORM_WORDS = {"android": "Android", "ios": "iOS", "web": "the web", "ecm": "Content Server"}


def summary(decision: Decision) -> str:
    """English, for the 409 a withdrawn push's button gets: "approved by bjones on Android at
    2026-12-01 10:42 UTC" (the API speaks English; pushes speak the device's language)."""
    words = [_ACTION_WORDS[decision.action]]
    if decision.by:
        words.append(f"by {decision.by}")
    if decision.platform:
        preposition = "in" if decision.platform == "ecm" else "on"
        words.append(f"{preposition} {_PLATFORM_WORDS[decision.platform]}")
    words.append(f"at {decision.at.astimezone(UTC).strftime('%Y-%m-%d %H:%M UTC')}")
    return " ".join(words)
