"""Decides who hears about an ECM event and with which template and buttons. Pure: the same event
always yields the same notifications (ids included), which is what makes redelivery safe."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote

from ecmpush.domain.events import EcmEvent, TaskAssigned, TaskRef
from ecmpush.domain.notifications import Notification, notification_id
from ecmpush.domain.reply_actions import BY_STAGE


@dataclass(frozen=True)
class RoutingContext:
    app_base_url: str
    now: datetime


def task_link(base: str, task: TaskRef, nid: str) -> str:
    """Ids are ECM's strings: escaped, so none can change the path or forge the query."""
    ids = (task.process_id, task.subprocess_id, task.task_id)
    path = "/".join(quote(part, safe="") for part in ids)
    return f"{base}/tasks/{path}?n={quote(nid, safe='')}"


def _task_assigned(event: TaskAssigned, ctx: RoutingContext) -> list[Notification]:
    task = event.data.task
    buttons = BY_STAGE[task.stage]
    nid = notification_id(event.id, "task.assigned")
    params = {"task_title": task.title, "priority": task.priority}
    if event.data.document is not None:
        params["document_name"] = event.data.document.name
    if task.due_at is not None:
        params["due_at"] = task.due_at.isoformat()
    if task.instructions:
        params["instructions"] = task.instructions
    return [
        Notification(
            id=nid,
            type=event.type,
            category=task.stage,
            source_id=event.id,
            recipients=[event.data.assignee.user_id],
            template=f"task.assigned.{task.stage}",
            params=params,
            deep_link=task_link(ctx.app_base_url, task, nid),
            actions=list(buttons.actions),
            apns_category=buttons.category,
            due_at=task.due_at,
            task=task,
            created_at=ctx.now,
        )
    ]


def route(event: EcmEvent, ctx: RoutingContext) -> list[Notification]:
    """Notifications an event causes. Types without a route yet yield none (their events are
    still stored, so nothing is lost while later flows are built)."""
    if isinstance(event, TaskAssigned):
        return _task_assigned(event, ctx)
    return []
