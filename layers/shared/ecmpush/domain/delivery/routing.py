"""Decides who hears about an ECM event and with which template and buttons. Pure: the same event
always yields the same notifications (ids included), which is what makes redelivery safe."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote

from ecmpush.clock import rfc3339
from ecmpush.domain.delivery.notifications import Notification, notification_id
from ecmpush.domain.delivery.routing_config import RoutingConfig
from ecmpush.domain.ecm.task_ref import TaskRef
from ecmpush.domain.intake.events import (
    DocumentAvailable,
    DocumentPublished,
    DocumentRef,
    EcmEvent,
    GovernanceAlert,
    TaskAssigned,
)
from ecmpush.domain.intake.links import LinkPolicy
from ecmpush.domain.replies.reply_actions import BY_STAGE, INFO
from ecmpush.domain.user_ids import EXTERNAL_PREFIX


@dataclass(frozen=True)
class RoutingContext:
    app_base_url: str
    now: datetime
    # Read only by routes that name roles or teams, so other events never need the document.
    routing: Callable[[], RoutingConfig] = RoutingConfig
    # Hosts an event's own link may name (domain/intake/links.py); None: the app's host alone.
    links: LinkPolicy | None = None

    @property
    def link_policy(self) -> LinkPolicy:
        return self.links or LinkPolicy.of(self.app_base_url)


def external_recipient(external_id: str) -> str:
    """External stakeholders are addressed by their external id, never by an ECM user."""
    return f"{EXTERNAL_PREFIX}{external_id}"


def document_link(ctx: RoutingContext, document: DocumentRef) -> str:
    """The document's own URL when the event sent one the link policy allows (intake refused
    the others; checked again for events queued before), else the app's document page."""
    own = f"{ctx.app_base_url}/documents/{quote(document.node_id, safe='')}"
    return ctx.link_policy.or_else(document.url, own)


def task_link(base: str, task: TaskRef, nid: str) -> str:
    """Ids are Content Server integers (domain/ecm/task_ref.py); escaped all the same, so the link
    could not be bent even if a looser id type crept in."""
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
        params["due_at"] = rfc3339(task.due_at)
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


def _info(
    event: EcmEvent, ctx: RoutingContext, recipients: list[str], **fields: Any
) -> list[Notification]:
    """A notification without buttons, or none when nobody is to hear of it."""
    if not recipients and not fields.get("groups"):
        return []
    return [
        Notification(
            id=notification_id(event.id, event.type),
            type=event.type,
            source_id=event.id,
            recipients=recipients,
            apns_category=INFO.category,
            created_at=ctx.now,
            **fields,
        )
    ]


def _document_available(event: DocumentAvailable, ctx: RoutingContext) -> list[Notification]:
    """Field teams: every member of the named teams and the named users, each once. Members of
    a team kept as a Content Server group are not listed here: Dispatch pages the group."""
    audience = event.data.audience
    routing = ctx.routing() if audience.teams else None
    users = routing.members_of_teams(audience.teams) if routing else []
    groups = routing.groups_of_teams(audience.teams) if routing else []
    recipients = list(dict.fromkeys([*users, *(u.user_id for u in audience.users)]))
    document = event.data.document
    return _info(
        event,
        ctx,
        recipients,
        groups=groups,
        category="field",
        template=f"document.available.{event.data.category}",
        params={"document_name": document.name},
        deep_link=document_link(ctx, document),
    )


def _document_published(event: DocumentPublished, ctx: RoutingContext) -> list[Notification]:
    """External stakeholders: title, kind and link only; nothing internal travels."""
    document = event.data.document
    recipients = [external_recipient(i) for i in dict.fromkeys(event.data.audience.external_ids)]
    return _info(
        event,
        ctx,
        recipients,
        category="publication",
        audience="external",
        template=f"document.published.{event.data.kind}",
        params={"document_name": document.name},
        deep_link=document_link(ctx, document),
    )


def _governance_alert(event: GovernanceAlert, ctx: RoutingContext) -> list[Notification]:
    """Routed by kind to roles. The actor and details stay out of the push (personal data)."""
    data = event.data
    routing = ctx.routing()
    recipients = routing.members_of_roles(routing.governance_roles(data.kind))
    params = {"summary": data.summary}
    if data.node is not None:
        params["document_name"] = data.node.name
    link = (
        document_link(ctx, data.node)
        if data.node is not None
        else f"{ctx.app_base_url}/governance?event={quote(event.id, safe='')}"
    )
    return _info(
        event,
        ctx,
        recipients,
        category="governance",
        template=f"governance.{data.kind}",
        params=params,
        deep_link=link,
        severity=data.severity,
    )


def route(event: EcmEvent, ctx: RoutingContext) -> list[Notification]:
    """Notifications an event causes. `task.completed` and `record.expiry_scheduled` cause none
    here: they change tracked state (tasks, records) that the sweeps act on."""
    if isinstance(event, TaskAssigned):
        return _task_assigned(event, ctx)
    if isinstance(event, DocumentAvailable):
        return _document_available(event, ctx)
    if isinstance(event, DocumentPublished):
        return _document_published(event, ctx)
    if isinstance(event, GovernanceAlert):
        return _governance_alert(event, ctx)
    return []
