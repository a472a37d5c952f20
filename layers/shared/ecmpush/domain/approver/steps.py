"""What the app shows of a step waiting for the caller, and the rules that join Content Server's
word (the caller's assignments, the step's history) with what ecmpush tracked (the push, its
action token, the reply). Content Server decides what is listed: a tracked step it no longer
lists is not shown. Why: docs/design/approver-api.md."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict

from ecmpush.clock import rfc3339
from ecmpush.domain.ecm.model import Activity, Assignment, Member, TaskDetails
from ecmpush.domain.ecm.task_ref import TaskRef
from ecmpush.domain.sweeps.tasks import TrackedTask

Stage = Literal["approval", "review", "task"]
Priority = Literal["low", "normal", "high"]
TokenState = Literal["open", "answered", "expired"]

# Content Server's priority names (`priority_name`) in ecmpush's words.
_PRIORITIES: Mapping[str, Priority] = {
    "low": "low",
    "medium": "normal",
    "normal": "normal",
    "high": "high",
    "urgent": "high",
}


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Sender(_Model):
    """Who sent the step: Content Server's user id, with the login and name when it said them."""

    user_id: int | None = None
    login: str | None = None
    name: str | None = None


class DocumentRef(_Model):
    """The document the step is about, as the assignment event named it; open it with
    `GET /me/documents/{node_id}/content` (Content Server decides whether the caller may)."""

    node_id: str
    name: str | None = None
    mime_type: str | None = None


class ReplySummary(_Model):
    action: str
    status: str
    replied_at: str | None = None


class PushState(_Model):
    """A push ecmpush sent the caller about the step. `action_token` says whether its buttons
    can still be answered with `POST /responses`: `open` (no reply yet, token not expired),
    `answered` (a reply is recorded: `reply`), `expired` (at `action_token_expires_at`, counted
    from when the push was made; a push delivered later holds a token valid a little longer)."""

    notification_id: str
    type: str
    created_at: datetime
    actions: list[str]
    action_token: TokenState | None
    action_token_expires_at: datetime | None
    reply: ReplySummary | None = None


class WaitingStep(_Model):
    """One step in the caller's inbox. `push` is the assignment push (null when ecmpush
    tracked none): its `notification_id` and `action_token` state let the app offer the
    reply buttons of the push it holds."""

    process_id: str
    subprocess_id: str
    task_id: str
    title: str
    stage: Stage | None
    due_at: datetime | None
    overdue: bool
    priority: Priority | None
    sender: Sender | None
    document: DocumentRef | None
    push: PushState | None


class WaitingList(_Model):
    """`GET /me/tasks`: the steps waiting for the caller, overdue first, then by due time
    (steps without one last), then by title."""

    tasks: list[WaitingStep]


class OfferedAction(_Model):
    key: str
    label: str


class HistoryEntry(_Model):
    """One thing that happened to the workflow: from Content Server's workflow history
    (`source: content_server`) or a push or reply of ecmpush (`source: ecmpush`)."""

    at: str
    source: Literal["content_server", "ecmpush"]
    what: str
    user_id: int | None = None
    comment: str = ""


class StepView(WaitingStep):
    """`GET /me/tasks/{process_id}/{subprocess_id}/{task_id}`: the step as the caller's task
    form shows it (instructions, the actions Content Server offers), and what happened so far,
    oldest first."""

    instructions: str
    actions: list[OfferedAction]
    initiator: Sender | None
    pushes: list[PushState]
    history: list[HistoryEntry]


@dataclass(frozen=True)
class TrackedPush:
    """What ecmpush stored of one push about a step to the caller (the notification header
    and the caller's reply)."""

    notification_id: str
    type: str
    created_at: datetime
    actions: tuple[str, ...]
    reply: ReplySummary | None = None


def parse_due(raw: str) -> datetime | None:
    """Content Server's due dates: `2026-12-02T17:00:00Z`, `2024-10-03T15:21:23` (no zone: read
    as UTC, as the relay and the expiry sweep do), or empty; anything else is no due date."""
    text = raw.strip()
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)


def priority_of(assignment: Assignment, tracked: TrackedTask | None) -> Priority | None:
    named = _PRIORITIES.get(assignment.priority_name.strip().casefold())
    if named is not None:
        return named
    if tracked is not None and tracked.priority in _PRIORITIES:
        return _PRIORITIES[tracked.priority]
    return None


def stage_of(tracked: TrackedTask | None, details: TaskDetails | None = None) -> Stage | None:
    """The event's stage when ecmpush tracked the step; else, from the task form, `approval`
    for a step with dispositions (custom actions), `task` otherwise; else unknown."""
    if tracked is not None and tracked.stage in ("approval", "review", "task"):
        return tracked.stage  # type: ignore[return-value]
    if details is not None:
        return "approval" if details.custom_actions else "task"
    return None


def push_state(push: TrackedPush, now: datetime, token_ttl: timedelta) -> PushState:
    expires = push.created_at + token_ttl if push.actions else None
    state: TokenState | None = None
    if push.actions:
        if push.reply is not None:
            state = "answered"
        elif expires is not None and now >= expires:
            state = "expired"
        else:
            state = "open"
    return PushState(
        notification_id=push.notification_id,
        type=push.type,
        created_at=push.created_at,
        actions=list(push.actions),
        action_token=state,
        action_token_expires_at=expires,
        reply=push.reply,
    )


def waiting_step(
    assignment: Assignment,
    tracked: TrackedTask | None,
    push: TrackedPush | None,
    now: datetime,
    token_ttl: timedelta,
) -> WaitingStep:
    """Content Server's assignment, with the title, due time and sender it gives; the stage,
    document and push state from what ecmpush tracked for the same step."""
    ref = assignment.ref
    due = parse_due(assignment.date_due) or (tracked.due_at if tracked else None)
    document = None
    if tracked is not None and tracked.document_node_id:
        document = DocumentRef(node_id=tracked.document_node_id, name=tracked.document_name)
    sender = None
    if assignment.from_user_id is not None or assignment.from_login:
        sender = Sender(
            user_id=assignment.from_user_id,
            login=assignment.from_login,
            name=assignment.from_name,
        )
    return WaitingStep(
        process_id=ref.process_id,
        subprocess_id=ref.subprocess_id,
        task_id=ref.task_id,
        title=assignment.name or (tracked.title if tracked else "") or f"Workflow step {ref}",
        stage=stage_of(tracked),
        due_at=due,
        overdue=due is not None and due < now,
        priority=priority_of(assignment, tracked),
        sender=sender,
        document=document,
        push=push_state(push, now, token_ttl) if push is not None else None,
    )


def waiting_list(
    assignments: Sequence[Assignment],
    tracked: Mapping[TaskRef, TrackedTask],
    pushes: Mapping[TaskRef, TrackedPush],
    now: datetime,
    token_ttl: timedelta,
) -> WaitingList:
    """Every assignment Content Server listed, and nothing else (a tracked step it no longer
    lists is done or moved on)."""
    steps = [
        waiting_step(a, tracked.get(a.ref), pushes.get(a.ref), now, token_ttl) for a in assignments
    ]
    far = datetime.max.replace(tzinfo=UTC)
    steps.sort(key=lambda s: (not s.overdue, s.due_at or far, s.title, s.process_id))
    return WaitingList(tasks=steps)


def member_sender(member: Member | None) -> Sender | None:
    return None if member is None else Sender(user_id=member.user_id, login=member.login)


def history(
    activities: Sequence[Activity], pushes: Sequence[TrackedPush], owner: str
) -> list[HistoryEntry]:
    """Content Server's workflow history and ecmpush's pushes and the caller's replies, oldest
    first (entries compare by their RFC 3339 text, Content Server's own dates included)."""
    entries = [
        HistoryEntry(
            at=a.date,
            source="content_server",
            what=a.label or a.action,
            user_id=a.user_id,
            comment=a.comment,
        )
        for a in activities
    ]
    for push in pushes:
        entries.append(
            HistoryEntry(at=rfc3339(push.created_at), source="ecmpush", what=f"push {push.type}")
        )
        if push.reply is not None:
            entries.append(
                HistoryEntry(
                    at=push.reply.replied_at or rfc3339(push.created_at),
                    source="ecmpush",
                    what=f"reply {push.reply.action} ({push.reply.status}) by {owner}",
                )
            )
    return sorted(entries, key=lambda e: _moment(e.at))


def _moment(text: str) -> datetime:
    return parse_due(text) or datetime.min.replace(tzinfo=UTC)
