"""Applies a reply to Content Server: read the task, pick the disposition it offers, send it on
with the audit comment, then close the task, record the outcome and confirm to the user.

Safe to repeat: the audit comment is deterministic per reply, so a retry after a lost answer
finds its own comment in the task's history and reports `applied` instead of acting twice."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Protocol

from ecmpush.adapters.ecm.errors import EcmTaskNotOpen
from ecmpush.adapters.ecm.models import TaskRef as EcmTaskRef
from ecmpush.adapters.ecm_client import EcmClient, on_behalf_of_prefix
from ecmpush.domain.confirmations import confirmation
from ecmpush.domain.dispositions import choose_disposition
from ecmpush.domain.messages import DispatchMessage, NotificationMessage
from ecmpush.domain.replies import ReplyStatus, audit_comment
from ecmpush.domain.routing import task_link
from ecmpush.domain.tasks import TrackedTask
from ecmpush.domain.write_back import WriteBack


class Replies(Protocol):
    def mark(
        self, reply: WriteBack, status: ReplyStatus, now: datetime, detail: str = ""
    ) -> None: ...


class Tasks(Protocol):
    def get(self, key: str) -> TrackedTask | None: ...
    def close(self, key: str, outcome: str | None, now: datetime) -> None: ...


class Publisher(Protocol):
    def publish(self, message: DispatchMessage) -> str: ...


class WriteBackService:
    def __init__(
        self,
        *,
        ecm: Callable[[], EcmClient],
        replies: Replies,
        tasks: Tasks,
        publisher: Publisher,
        app_base_url: str,
        clock: Callable[[], datetime],
        mapping: Mapping[str, Sequence[str]] | None = None,
    ) -> None:
        self._ecm = ecm  # built lazily: credentials are read only when a reply needs them
        self._replies = replies
        self._tasks = tasks
        self._publisher = publisher
        self._base_url = app_base_url
        self._clock = clock
        self._mapping = mapping

    def apply(self, reply: WriteBack, budget_s: float) -> ReplyStatus:
        """Raises `EcmError` (other than task-not-open) when Content Server could not take it."""
        tracked = self._tasks.get(reply.task.key)
        outcome = self._apply_in_ecm(reply, tracked, budget_s)
        now = self._clock()
        self._replies.mark(reply, outcome, now)
        self._tasks.close(reply.task.key, f"{reply.action} by {reply.ecm_user} via ecmpush", now)
        title = tracked.title if tracked else ""
        link = task_link(self._base_url, reply.task, reply.notification_id)
        self._publisher.publish(
            NotificationMessage(notification=confirmation(reply, outcome, title, link, now))
        )
        return outcome

    def _apply_in_ecm(
        self, reply: WriteBack, tracked: TrackedTask | None, budget_s: float
    ) -> ReplyStatus:
        ecm = self._ecm()
        ref = EcmTaskRef(reply.task.process_id, reply.task.subprocess_id, reply.task.task_id)
        # The assignee acts as themself (when impersonation is configured). Anyone else holding
        # a token (a supervisor or backup reached by an SLA escalation) cannot act on another
        # user's step: the service account does, "on behalf of" them, in the audit comment.
        assignee = tracked.assignee if tracked and tracked.assignee else reply.ecm_user
        as_user = reply.ecm_user if reply.ecm_user == assignee else None
        prefix = (
            ecm.comment_prefix(reply.ecm_user) if as_user else on_behalf_of_prefix(reply.ecm_user)
        )
        comment = audit_comment(
            reply.comment, prefix=prefix, platform=reply.platform, replied_at=reply.replied_at
        )
        details = ecm.get_task(ref, as_user=as_user, budget_s=budget_s)
        if not details.is_open:
            return self._applied_earlier_or_closed(ecm, ref, as_user, comment, budget_s)
        disposition = choose_disposition(details, reply.action, self._mapping)
        try:
            ecm.apply_disposition(
                ref, disposition, comment=comment, as_user=as_user, budget_s=budget_s
            )
        except EcmTaskNotOpen:
            return ReplyStatus.TASK_CLOSED
        return ReplyStatus.APPLIED

    @staticmethod
    def _applied_earlier_or_closed(
        ecm: EcmClient, ref: EcmTaskRef, as_user: str | None, comment: str, budget_s: float
    ) -> ReplyStatus:
        """A closed task is ours when its history holds this reply's comment (an earlier attempt
        went through but its answer was lost), someone else's otherwise."""
        history = ecm.task_activities(ref, as_user=as_user, budget_s=budget_s)
        if any(entry.comment == comment for entry in history):
            return ReplyStatus.APPLIED
        return ReplyStatus.TASK_CLOSED
