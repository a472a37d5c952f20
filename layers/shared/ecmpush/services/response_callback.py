"""`POST /responses` use case: check the reply, take its single use, then apply it to Content
Server right away when ECM answers quickly, or queue it for the write-back worker when not.

A reply answered 202 is never lost: it is either applied, or on the write-back queue (whose DLQ
keeps what never succeeds); if it can be neither, the single-use claim is released and the
caller gets an error, so the user can simply try again."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from ecmpush.domain.delivery.withdrawal import summary
from ecmpush.domain.ecm.errors import EcmNotFound, EcmRejected
from ecmpush.domain.ecm.task_ref import TaskRef
from ecmpush.domain.identity import Principal
from ecmpush.domain.replies.action_token import ActionClaims, ActionTokenUnknownKey, verify
from ecmpush.domain.replies.dispositions import NoMatchingDisposition
from ecmpush.domain.replies.requests import (
    ReplyConflict,
    ReplyForbidden,
    ReplyRequest,
    ReplyStatus,
    authorize,
    new_response_id,
)
from ecmpush.domain.replies.write_back import Reply
from ecmpush.domain.sweeps.snooze import SnoozeRefused, check_snoozable, snooze_until
from ecmpush.domain.sweeps.tasks import TrackedTask
from ecmpush.ports import DevicesPort, Publisher, RepliesPort, ReplyWriter, TasksPort
from ecmpush.services.rotating_keys import verify_with_rotation


class ResponseCallbackService:
    def __init__(
        self,
        *,
        action_token_keys: Callable[[], list[bytes]],
        refreshed_action_token_keys: Callable[[], list[bytes] | None] = lambda: None,
        replies: RepliesPort,
        tasks: TasksPort,
        devices: DevicesPort,
        writer: ReplyWriter,
        queue: Publisher,
        clock: Callable[[], datetime],
        inline_budget_s: float = 4.0,
    ) -> None:
        self._keys = action_token_keys
        self._refreshed_keys = refreshed_action_token_keys
        self._replies = replies
        self._tasks = tasks
        self._devices = devices
        self._writer = writer
        self._queue = queue
        self._clock = clock
        self._inline_budget = inline_budget_s

    def accept(self, principal: Principal, request: ReplyRequest) -> Reply:
        """Returns the accepted reply; raises ActionTokenInvalid, ActionTokenExpired,
        ReplyForbidden or ReplyConflict."""
        now = self._clock()
        claims = self._verified(request.action_token, now)
        if request.action == "snooze":
            raise ReplyForbidden("a snooze is not a reply (ResponseCallbackService.snooze)")
        authorize(claims, principal.ecm_user, request.action)
        task = _task_of(claims)
        if self._replies.get(claims.notification_id, claims.ecm_user) is not None:
            raise self._conflict(task, "this notification was already answered")
        if task is None:  # signed before the webhook checked task ids: nothing to answer
            raise ReplyConflict("this push names no Content Server task")
        tracked = self._tasks.get(task.key)
        if tracked is not None and tracked.status == "closed":
            raise _decided(tracked) or ReplyConflict("this task is no longer open")
        device = (
            self._devices.get(principal.owner, request.installation_id)
            if request.installation_id
            else None
        )
        reply = Reply(
            response_id=new_response_id(),
            notification_id=claims.notification_id,
            ecm_user=claims.ecm_user,
            task=task,
            action=request.action,
            comment=request.comment or None,
            platform=device.platform if device else None,
            installation_id=request.installation_id,
            replied_at=now,
        )
        if not self._replies.claim(reply, now):
            raise ReplyConflict("this notification was already answered")
        return reply

    def snooze(self, principal: Principal, request: ReplyRequest) -> datetime:
        """Remind me later: the push comes back at the returned time (the SLA sweep sends it).
        The token must be the caller's, for a step still open that is theirs; it stays usable
        for the answer. Raises ActionTokenInvalid, ActionTokenExpired, ReplyForbidden or
        ReplyConflict (the task is closed, snoozed too often, or changed meanwhile)."""
        now = self._clock()
        claims = self._verified(request.action_token, now)
        if principal.ecm_user is None or claims.ecm_user != principal.ecm_user:
            raise ReplyForbidden("this action token belongs to another user")
        if not claims.actions or request.snooze is None:
            raise ReplyForbidden("this push offers nothing to snooze")
        try:
            key = TaskRef(
                process_id=claims.process_id,
                subprocess_id=claims.subprocess_id,
                task_id=claims.task_id,
            ).key
        except ValueError:
            raise ReplyConflict("this push names no Content Server task") from None
        tracked = self._tasks.get(key)
        if tracked is not None and tracked.assignee.casefold() != claims.ecm_user.casefold():
            raise ReplyForbidden("only the assignee can snooze this task")
        try:
            task = check_snoozable(tracked, claims.ecm_user)
        except SnoozeRefused as exc:
            decided = (
                _decided(tracked) if tracked is not None and tracked.status == "closed" else None
            )
            raise decided or ReplyConflict(str(exc)) from None
        device = (
            self._devices.get(principal.owner, request.installation_id)
            if request.installation_id
            else None
        )
        until = snooze_until(request.snooze, now, device.timezone if device else None)
        if not self._tasks.snooze(task, until):
            raise ReplyConflict("the task changed meanwhile; try again")
        return until

    def _conflict(self, task: TaskRef | None, fallback: str) -> ReplyConflict:
        """The 409 of a push whose task is decided names who decided it, as the task recorded
        (domain/delivery/withdrawal.py); `fallback` when it records nobody."""
        tracked = self._tasks.get(task.key) if task is not None else None
        return (_decided(tracked) if tracked is not None else None) or ReplyConflict(fallback)

    def _verified(self, token: str, now: datetime) -> ActionClaims:
        """Against the cached active keys (AWSCURRENT, AWSPREVIOUS), then once against keys
        read fresh: a Dispatch container may already sign with a key rotated in after our
        cache was filled."""
        return verify_with_rotation(
            lambda keys: verify(token, keys, now.timestamp()),
            self._keys,
            self._refreshed_keys,
            ActionTokenUnknownKey,
        )

    def apply_or_queue(self, reply: Reply) -> ReplyStatus:
        try:
            outcome = self._writer.apply(reply, self._inline_budget)
        except (EcmRejected, EcmNotFound, NoMatchingDisposition) as exc:
            # Content Server refused this reply on its merits (not the user's step and no way
            # to hand it over, a disposition the step does not offer): a retry cannot help, so
            # say so now instead of queueing it for the DLQ.
            self._replies.release(reply)
            raise ReplyConflict(
                "Content Server cannot take this reply here; open the task in ECM"
            ) from exc
        except Exception:
            # ECM down, slow or misconfigured, or our own bookkeeping failed after ECM took it:
            # the worker retries (and recognises a reply ECM already has); the DLQ keeps what
            # never works.
            try:
                self._queue.publish(reply)
            except Exception:
                self._replies.release(reply)
                raise
            return ReplyStatus.QUEUED
        if outcome is ReplyStatus.TASK_CLOSED:
            raise ReplyConflict("this task is no longer open in ECM")
        return outcome


def _task_of(claims: ActionClaims) -> TaskRef | None:
    try:
        return TaskRef(
            process_id=claims.process_id,
            subprocess_id=claims.subprocess_id,
            task_id=claims.task_id,
        )
    except ValueError:
        return None


def _decided(tracked: TrackedTask) -> ReplyConflict | None:
    if tracked.decision is None:
        return None
    return ReplyConflict(f"already decided: {summary(tracked.decision)}")
