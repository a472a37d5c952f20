"""Applies a reply to Content Server as the person who gave it, then closes the task here,
records the outcome and confirms to the user.
Why: docs/design/write-back-as-the-replier.md."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import cast

from ecmpush.clock import Deadline
from ecmpush.domain.delivery.messages import NotificationMessage, WithdrawalMessage
from ecmpush.domain.delivery.routing import task_link
from ecmpush.domain.delivery.routing_config import RoutingConfig
from ecmpush.domain.delivery.withdrawal import Decision, DecisionPlatform
from ecmpush.domain.ecm.errors import EcmAuthError, EcmNotAssignee, EcmRejected, EcmTaskNotOpen
from ecmpush.domain.ecm.model import TaskDetails, WorkflowStatus
from ecmpush.domain.ecm.task_ref import TaskRef
from ecmpush.domain.replies.confirmations import confirmation
from ecmpush.domain.replies.dispositions import DispositionKind, choose_disposition
from ecmpush.domain.replies.requests import ReplyStatus, audit_comment
from ecmpush.domain.replies.write_back import (
    HANDOVER_ACTIONS,
    ROUTED_ACTIONS,
    Reply,
    handover_comment,
)
from ecmpush.domain.sweeps.tasks import TrackedTask
from ecmpush.ports import ContentServer, ProcessFigures, Publisher, RepliesPort, TasksPort
from ecmpush.privacy import who

# What a Content Server call is given once the write-back's own time is spent: enough for one
# quick answer, so the last steps of a reply still try rather than fail unasked.
LAST_CALL_S = 0.5
# The flow whose pushes carry decisions (workflow steps): the `flow` of the time-to-decision figure.
DECISION_FLOW = "task.assigned"


def _left(budget: Deadline) -> float:
    """The time the next Content Server call may take from the write-back's shared budget."""
    return max(budget.remaining(), LAST_CALL_S)


class WriteBackService:
    def __init__(
        self,
        *,
        ecm: Callable[[], ContentServer],
        replies: RepliesPort,
        tasks: TasksPort,
        publisher: Publisher,
        app_base_url: str,
        clock: Callable[[], datetime],
        routing: Callable[[], RoutingConfig] = RoutingConfig,
        mapping: Mapping[str, Sequence[str]] | None = None,
        figures: ProcessFigures | None = None,
    ) -> None:
        self._ecm = ecm  # built lazily: credentials are read only when a reply needs them
        self._replies = replies
        self._tasks = tasks
        self._publisher = publisher
        self._base_url = app_base_url
        self._clock = clock
        self._routing = routing
        self._mapping = mapping
        self._figures = figures

    def apply(self, reply: Reply, budget_s: float) -> ReplyStatus:
        """Raises `EcmError` (other than task-not-open) when Content Server could not take it."""
        tracked = self._tasks.get(reply.task.key)
        outcome, handed_over = self._apply_in_ecm(reply, Deadline(budget_s))
        now = self._clock()
        self._replies.mark(reply, outcome, now)
        decision = reply_decision(reply, outcome, now)
        self._tasks.close(
            reply.task.key, f"{reply.action} by {reply.ecm_user} via ecmpush", now, decision
        )
        if outcome is ReplyStatus.APPLIED and tracked and tracked.status == "open":
            self._decided(tracked, now)
        title = tracked.title if tracked else ""
        link = task_link(self._base_url, reply.task, reply.notification_id)
        self._publisher.publish(
            NotificationMessage(notification=confirmation(reply, outcome, title, link, now))
        )
        # Every other push about the step goes from every device, the replier's others too
        # (the device the reply came from gets the confirmation, which replaces it).
        self._publisher.publish(
            WithdrawalMessage(
                task=reply.task,
                reason="handed_over" if handed_over else "replied",
                decision=decision,
                confirmed_on=(reply.installation_id,) if reply.installation_id else (),
            )
        )
        return outcome

    def _decided(self, tracked: TrackedTask, now: datetime) -> None:
        """Time to decision: from the task's first push (`opened_at`) to the applied reply."""
        if self._figures is not None:
            seconds = (now - tracked.opened_at).total_seconds()
            self._figures.decided(flow=DECISION_FLOW, stage=tracked.stage, seconds=seconds)

    def _apply_in_ecm(self, reply: Reply, budget: Deadline) -> tuple[ReplyStatus, bool]:
        """The outcome, and whether the step was handed over to the replier first."""
        ecm = self._ecm()
        ref = reply.task
        user = reply.ecm_user
        if not ecm.impersonates(user):
            # Only the step's holder may send it on: without OTDS impersonation no reply can
            # ever be applied. An operator's problem (the reply waits, the DLQ alarms), not 409.
            raise EcmAuthError(
                "write-back needs OTDS impersonation: set auth_mode 'otds' and act_as_user "
                "in the ECM credentials secret (docs/ecm.md)"
            )
        comment = audit_comment(
            reply.comment, prefix="", platform=reply.platform, replied_at=reply.replied_at
        )
        status = ecm.workflow_status(ref.process_id, budget_s=_left(budget))
        step = status.current_step(ref)
        if step is None:
            return self._applied_earlier_or_closed(ecm, ref, user, comment, budget), False
        handed_over = False
        try:
            if step.assignees and not step.assigned_to(user):
                routing = self._routing()
                holder = next(
                    (m.login for m in step.assignees if routing.may_take_over(m.login, user)), None
                )
                if holder is None:
                    # e.g. the assignee answering a push after the step was forwarded in ECM, or
                    # a supervisor an event named but the operator never confirmed
                    raise EcmNotAssignee(f"task {ref} is not in the inbox of {who(user)}")
                self._hand_over(ecm, ref, holder, reply, budget)
                handed_over = True
            form = ecm.get_task(ref, as_user=user, budget_s=_left(budget))
            form.ensure_answerable_from_a_push()
            if form.member_accept:
                ecm.accept_task(ref, as_user=user, budget_s=_left(budget))
                form = ecm.get_task(ref, as_user=user, budget_s=_left(budget))
            disposition = choose_disposition(form, reply.action, self._mapping)
            assignee = (
                _initiator_id(status, ref)
                if disposition.kind is DispositionKind.ACTION and disposition.key in ROUTED_ACTIONS
                else None
            )
            ecm.complete_task(
                ref,
                action=disposition.key if disposition.kind is DispositionKind.ACTION else None,
                custom_action=(
                    disposition.key if disposition.kind is DispositionKind.CUSTOM_ACTION else None
                ),
                comment=comment,
                as_user=user,
                assignee=assignee,
                budget_s=_left(budget),
            )
        except EcmTaskNotOpen:
            return self._applied_earlier_or_closed(ecm, ref, user, comment, budget), handed_over
        return ReplyStatus.APPLIED, handed_over

    @staticmethod
    def _hand_over(
        ecm: ContentServer, ref: TaskRef, holder: str, reply: Reply, budget: Deadline
    ) -> None:
        """Move the step from `holder`'s inbox to the replying deputy, through the step's own
        Delegate action run as the holder."""
        form = ecm.get_task(ref, as_user=holder, budget_s=_left(budget))
        form.ensure_answerable_from_a_push()  # else handed over for a reply that cannot go on
        delegate = _offered(form, HANDOVER_ACTIONS)
        if delegate is None:
            raise EcmNotAssignee(
                f"task {ref} belongs to {who(holder)} and offers no action to hand it over "
                f"({', '.join(HANDOVER_ACTIONS)}); {who(reply.ecm_user)} cannot act on it"
            )
        try:
            ecm.complete_task(
                ref,
                action=delegate,
                comment=handover_comment(reply.ecm_user, reply.replied_at),
                as_user=holder,
                assignee=ecm.user_id(reply.ecm_user, budget_s=_left(budget)),
                budget_s=_left(budget),
            )
        except EcmNotAssignee:
            # A lost answer whose retry met the step already moved: ours if it is now theirs.
            now = ecm.workflow_status(ref.process_id, budget_s=_left(budget)).current_step(ref)
            if now is None or not now.assigned_to(reply.ecm_user):
                raise

    @staticmethod
    def _applied_earlier_or_closed(
        ecm: ContentServer, ref: TaskRef, user: str, comment: str, budget: Deadline
    ) -> ReplyStatus:
        """A step no longer in progress is ours when the history holds this reply's comment from
        this user (an earlier attempt went through but its answer was lost), someone else's
        otherwise. History entries name no task; the comment is unique per reply."""
        user_id = ecm.user_id(user, budget_s=_left(budget))
        history = ecm.task_activities(ref, budget_s=_left(budget))
        if any(e.comment == comment and e.user_id in (None, user_id) for e in history):
            return ReplyStatus.APPLIED
        return ReplyStatus.TASK_CLOSED


def reply_decision(reply: Reply, outcome: ReplyStatus, now: datetime) -> Decision:
    """Who decided: the replier, from their platform, when the reply was given; or, when
    someone finished the step in Content Server first, Content Server at `now`."""
    if outcome is ReplyStatus.TASK_CLOSED:
        return Decision(action="completed", platform="ecm", at=now)
    platform = reply.platform if reply.platform in ("android", "ios", "web") else None
    return Decision(
        by=reply.ecm_user,
        action=reply.action,
        platform=cast("DecisionPlatform | None", platform),
        at=reply.replied_at,
    )


def _offered(form: TaskDetails, keys: Sequence[str]) -> str | None:
    offered = {option.key.casefold(): option.key for option in form.actions}
    return next((offered[k.casefold()] for k in keys if k.casefold() in offered), None)


def _initiator_id(status: WorkflowStatus, ref: TaskRef) -> int:
    """Who a "request info" goes back to: the workflow's initiator, by user id as Content Server
    wants it for Review/Delegate."""
    if status.initiator is None or status.initiator.user_id is None:
        raise EcmRejected(f"workflow of task {ref} names no initiator to ask for information")
    return status.initiator.user_id
