"""The approver's API (`/me/tasks`, `/me/documents`): the steps waiting for the caller and the
documents they open, read from Content Server as the caller (OTDS impersonation, the same as the
write-back), so Content Server's own inbox and permissions decide; joined with what ecmpush
tracked. Why: docs/design/approver-api.md."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from ecmpush.domain.approver.documents import MAX_CONTENT_BYTES, DocumentMetadata, metadata
from ecmpush.domain.approver.steps import (
    OfferedAction,
    StepView,
    TrackedPush,
    WaitingList,
    history,
    member_sender,
    push_state,
    stage_of,
    waiting_list,
    waiting_step,
)
from ecmpush.domain.ecm.errors import EcmNotAssignee, EcmNotFound, EcmRejected, EcmTaskNotOpen
from ecmpush.domain.ecm.model import Activity, Member, NodeContent
from ecmpush.domain.ecm.task_ref import TaskRef
from ecmpush.domain.identity import Principal
from ecmpush.ports import ContentServer, TrackedStepsPort

ECM_BUDGET_S = 8.0  # per Content Server call: the API answers within API Gateway's 29 s


class InternalUsersOnly(Exception):
    """The caller has no Content Server account (an external stakeholder): 403."""


class NotYourStep(Exception):
    """Content Server does not list the step in the caller's inbox: 404, whether it exists or
    not (the answer tells nobody about other people's steps)."""


class ApproverService:
    def __init__(
        self,
        *,
        ecm: Callable[[], ContentServer],
        tracked: Callable[[], TrackedStepsPort],
        clock: Callable[[], datetime],
        token_ttl: timedelta,
        content_limit: int = MAX_CONTENT_BYTES,
    ) -> None:
        self._ecm = ecm
        self._tracked = tracked
        self._clock = clock
        self._token_ttl = token_ttl
        self._content_limit = content_limit

    def waiting(self, principal: Principal) -> WaitingList:
        """Every step Content Server lists in the caller's inbox, with ecmpush's push state."""
        user = _ecm_user(principal)
        assignments = self._ecm().assignments(user, budget_s=ECM_BUDGET_S)
        tracked = self._tracked().tasks([a.ref for a in assignments]) if assignments else {}
        pushes = self._tracked().pushes(list(tracked.values()), principal.owner) if tracked else {}
        assignment_push: dict[TaskRef, TrackedPush] = {}
        for ref, task in tracked.items():
            first = _assignment_push(pushes.get(task.task_key, []), task.notification_id)
            if first is not None:
                assignment_push[ref] = first
        return waiting_list(assignments, tracked, assignment_push, self._clock(), self._token_ttl)

    def step(self, principal: Principal, ref: TaskRef) -> StepView:
        """The step as the caller's task form shows it, and what happened so far. `NotYourStep`
        unless Content Server lists it in the caller's inbox."""
        user = _ecm_user(principal)
        ecm = self._ecm()
        listed = next(
            (a for a in ecm.assignments(user, budget_s=ECM_BUDGET_S) if a.ref == ref), None
        )
        if listed is None:
            raise NotYourStep(f"task {ref} is not waiting for you")
        try:
            details = ecm.get_task(ref, as_user=user, budget_s=ECM_BUDGET_S)
        except (EcmTaskNotOpen, EcmNotAssignee, EcmNotFound) as exc:
            raise NotYourStep(f"task {ref} is not waiting for you") from exc
        task = self._tracked().tasks([ref]).get(ref)
        pushes = (
            self._tracked().pushes([task], principal.owner, with_sla=True).get(task.task_key, [])
            if task is not None
            else []
        )
        now = self._clock()
        base = waiting_step(
            listed,
            task,
            _assignment_push(pushes, task.notification_id if task else None),
            now,
            self._token_ttl,
        )
        return StepView(
            **(base.model_dump() | {"stage": stage_of(task, details)}),
            instructions=details.instructions or listed.instructions,
            actions=[
                OfferedAction(key=o.key, label=o.label)
                for o in (*details.custom_actions, *details.actions)
            ],
            initiator=member_sender(self._initiator(ref)),
            pushes=[push_state(p, now, self._token_ttl) for p in pushes],
            history=history(self._activities(ref), pushes, principal.owner),
        )

    def document(self, principal: Principal, node_id: str) -> DocumentMetadata:
        user = _ecm_user(principal)
        node = self._ecm().node(node_id, as_user=user, budget_s=ECM_BUDGET_S)
        return metadata(node, self._content_limit)

    def content(self, principal: Principal, node_id: str) -> NodeContent:
        """Raises `EcmForbidden` (403), `EcmNotFound` (404), `EcmContentTooLarge` (413)."""
        user = _ecm_user(principal)
        return self._ecm().node_content(
            node_id, as_user=user, limit=self._content_limit, budget_s=ECM_BUDGET_S
        )

    def _initiator(self, ref: TaskRef) -> Member | None:
        """Who started the workflow, from its status (asked as the service account); unknown
        when the service account may not see it."""
        try:
            return self._ecm().workflow_status(ref.process_id, budget_s=ECM_BUDGET_S).initiator
        except (EcmNotFound, EcmRejected):
            return None

    def _activities(self, ref: TaskRef) -> list[Activity]:
        try:
            return self._ecm().task_activities(ref, budget_s=ECM_BUDGET_S)
        except (EcmNotFound, EcmRejected):
            return []


def _ecm_user(principal: Principal) -> str:
    if principal.ecm_user is None:
        raise InternalUsersOnly("only Content Server users have workflow steps and documents")
    return principal.ecm_user


def _assignment_push(pushes: list[TrackedPush], notification_id: str | None) -> TrackedPush | None:
    return next((p for p in pushes if p.notification_id == notification_id), None)
