"""The write-back use case against an in-memory Content Server (a fake of the `EcmWorkflows`
port that keeps the real server's rules: only the holder may open or send on a step)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ecmpush.domain.delivery.messages import NotificationMessage, WithdrawalMessage
from ecmpush.domain.delivery.routing_config import RoutingConfig
from ecmpush.domain.ecm.errors import (
    EcmAuthError,
    EcmNotAssignee,
    EcmStepNeedsAuthentication,
    EcmTaskNotOpen,
)
from ecmpush.domain.ecm.model import (
    Activity,
    CompletionResult,
    Member,
    TaskDetails,
    WorkflowStatus,
    WorkflowStep,
)
from ecmpush.domain.ecm.task_ref import TaskRef
from ecmpush.domain.replies.dispositions import ActionOption, DispositionKind
from ecmpush.domain.replies.requests import ReplyStatus, audit_comment
from ecmpush.domain.replies.write_back import Reply, backoff_seconds
from ecmpush.services.write_back import LAST_CALL_S, WriteBackService
from tests.fakes import Partial, WriteBackRecorder, tracked_task

REF = TaskRef(process_id=4711, subprocess_id=4711, task_id=1)
IDS = {"asmith": 1001, "bjones": 1002, "cwu": 1003}
NOW = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)


@dataclass
class FakeContentServer(Partial):
    holder: str = "asmith"
    open: bool = True
    impersonating: bool = True
    actions: tuple[str, ...] = ("SendOn", "SendForReview", "Delegate")
    custom: tuple[str, ...] = ("Approve", "Reject")
    member_accept: bool = False
    lose_handover_answer: bool = False  # the Delegate goes through, its answer is lost
    authentication: bool = False  # the step asks for authentication_info to be sent on
    history: list[Activity] = field(default_factory=list)
    calls: list[tuple[str, Any]] = field(default_factory=list)
    budgets: list[float | None] = field(default_factory=list)

    def impersonates(self, as_user: str | None) -> bool:
        return self.impersonating

    def workflow_status(self, process_id: str | int, *, budget_s: float | None = None) -> Any:
        step = WorkflowStep(REF, "Approver", "ontime", (Member(IDS[self.holder], self.holder),))
        current = (step,) if self.open else ()
        return WorkflowStatus("4711", "ontime", Member(1002, "bjones"), current)

    def _check(self, ref: TaskRef, as_user: str | None) -> None:
        if not self.open:
            raise EcmTaskNotOpen(f"{ref} done")
        if as_user != self.holder:
            raise EcmNotAssignee(f"{ref} is not {as_user}'s")

    def get_task(self, ref: TaskRef, *, as_user: str | None = None, budget_s: Any = None) -> Any:
        self._check(ref, as_user)
        return TaskDetails(
            ref=ref,
            title="Approver",
            instructions="",
            actions=tuple(ActionOption(a, a) for a in self.actions),
            custom_actions=tuple(ActionOption(c, c) for c in self.custom),
            comments_on=True,
            member_accept=self.member_accept,
            authentication=self.authentication,
        )

    def accept_task(
        self, ref: TaskRef, *, as_user: str | None = None, budget_s: Any = None
    ) -> None:
        self.calls.append(("accept", as_user))
        self.member_accept = False

    def complete_task(
        self,
        ref: TaskRef,
        *,
        action: str | None = None,
        custom_action: str | None = None,
        comment: str,
        as_user: str | None = None,
        assignee: str | int | None = None,
        budget_s: float | None = None,
    ) -> CompletionResult:
        self._check(ref, as_user)
        key = action or custom_action or ""
        self.calls.append(("complete", (key, as_user, assignee)))
        self.budgets.append(budget_s)
        self.history.append(Activity(key, comment, "now", user_id=IDS.get(as_user or "")))
        if key == "Delegate":
            self.holder = next(name for name, uid in IDS.items() if uid == assignee)
            if self.lose_handover_answer:  # as the client reports the retry that met it moved
                raise EcmNotAssignee(f"{ref} is not {as_user}'s")
        else:
            self.open = False
        kind = DispositionKind.ACTION if action else DispositionKind.CUSTOM_ACTION
        return CompletionResult(ref, kind, key, as_user or "")

    def task_activities(self, ref: TaskRef, *, budget_s: float | None = None) -> list[Activity]:
        return list(self.history)

    def user_id(self, login: str, *, budget_s: float | None = None) -> int:
        return IDS[login]


TRACKED = tracked_task(title="Approve contract", opened_at=NOW)


def reply(action: str = "approve", user: str = "asmith", comment: str | None = "ok") -> Reply:
    return Reply(
        response_id="r-1",
        notification_id="n-1",
        ecm_user=user,
        task=TaskRef(process_id="4711", subprocess_id="4711", task_id="1"),
        action=action,
        comment=comment,
        platform="ios",
        replied_at=NOW,
    )


# The operator confirms bjones as asmith's deputy; the tracked task's supervisor counts for nothing.
DEPUTIES = RoutingConfig.model_validate({"deputies": {"asmith": ["bjones"]}})


def service(
    ecm: FakeContentServer,
    recorder: WriteBackRecorder,
    routing: RoutingConfig = DEPUTIES,
    figures: Any = None,
) -> WriteBackService:
    return WriteBackService(
        ecm=lambda: ecm,
        replies=recorder.replies,
        tasks=recorder,
        publisher=recorder,
        app_base_url="https://app.test",
        clock=lambda: NOW,
        routing=lambda: routing,
        figures=figures,
    )


def test_the_assignee_approves_as_themself() -> None:
    ecm, recorder = FakeContentServer(), WriteBackRecorder(TRACKED)
    assert service(ecm, recorder).apply(reply(), 5) is ReplyStatus.APPLIED
    assert ecm.calls == [("complete", ("Approve", "asmith", None))]
    assert recorder.marked == [ReplyStatus.APPLIED]
    assert recorder.closed == ["4711/4711/1"]
    confirmed, withdrawal = recorder.published  # the confirmation push, then the withdrawal
    assert isinstance(confirmed, NotificationMessage)
    assert isinstance(withdrawal, WithdrawalMessage)
    assert (withdrawal.task.key, withdrawal.reason) == ("4711/4711/1", "replied")
    assert withdrawal.decision.by == "asmith"
    assert withdrawal.decision.action == "approve"
    assert recorder.decisions == [withdrawal.decision]  # the 409 of a withdrawn push names it


def test_a_spent_budget_still_gives_each_content_server_call_half_a_second() -> None:
    """The reply's calls share one deadline; once it is spent, the next call gets a short
    chance (LAST_CALL_S) rather than none, and never more than the time that is left."""
    ecm = FakeContentServer()
    service(ecm, WriteBackRecorder(TRACKED)).apply(reply(), 0)
    assert ecm.budgets == [LAST_CALL_S]
    ecm = FakeContentServer()
    service(ecm, WriteBackRecorder(TRACKED)).apply(reply(), 60)
    assert all(LAST_CALL_S < budget <= 60 for budget in ecm.budgets if budget is not None)
    assert len(ecm.budgets) == 1


def test_request_info_goes_to_the_initiator_by_id() -> None:
    ecm = FakeContentServer()
    service(ecm, WriteBackRecorder(TRACKED)).apply(reply("request_info"), 5)
    assert ecm.calls == [("complete", ("SendForReview", "asmith", 1002))]


def test_a_supervisor_the_operator_never_confirmed_cannot_take_the_step_over() -> None:
    """The tracked task (what an event said) names bjones as supervisor and cwu as backup; only
    the routing configuration's deputies may take a step over, so both are refused untouched."""
    tracked = tracked_task(
        title="Approve contract", opened_at=NOW, supervisor="bjones", backup="cwu"
    )
    for user in ("bjones", "cwu"):
        ecm = FakeContentServer()
        with pytest.raises(EcmNotAssignee):
            service(ecm, WriteBackRecorder(tracked), RoutingConfig()).apply(reply(user=user), 5)
        assert (ecm.calls, ecm.holder, ecm.open) == ([], "asmith", True)


def test_a_deputy_of_someone_else_cannot_take_the_step_over() -> None:
    ecm = FakeContentServer()
    routing = RoutingConfig.model_validate({"deputies": {"cwu": ["bjones"]}})
    with pytest.raises(EcmNotAssignee):
        service(ecm, WriteBackRecorder(TRACKED), routing).apply(reply(user="bjones"), 5)
    assert ecm.calls == []


def test_a_confirmed_deputy_takes_the_step_over_then_decides() -> None:
    ecm, recorder = FakeContentServer(), WriteBackRecorder(TRACKED)
    assert service(ecm, recorder).apply(reply(user="bjones"), 5) is ReplyStatus.APPLIED
    assert ecm.calls == [
        ("complete", ("Delegate", "asmith", 1002)),
        ("complete", ("Approve", "bjones", None)),
    ]
    assert ecm.history[0].comment.startswith("Handed over to bjones after an SLA escalation")
    # The assignee's pushes (and the escalation's) go from every device, as a hand-over.
    withdrawal = recorder.published[-1]
    assert isinstance(withdrawal, WithdrawalMessage)
    assert (withdrawal.reason, withdrawal.decision.by) == ("handed_over", "bjones")


def test_a_handover_whose_answer_was_lost_goes_on_to_the_decision() -> None:
    ecm = FakeContentServer(lose_handover_answer=True)
    outcome = service(ecm, WriteBackRecorder(TRACKED)).apply(reply(user="bjones"), 5)
    assert outcome is ReplyStatus.APPLIED
    assert [c[1][0] for c in ecm.calls] == ["Delegate", "Approve"]


def test_without_a_handover_action_the_supervisor_is_refused_and_nothing_changes() -> None:
    ecm = FakeContentServer(actions=("SendOn",))
    with pytest.raises(EcmNotAssignee):
        service(ecm, WriteBackRecorder(TRACKED)).apply(reply(user="bjones"), 5)
    assert (ecm.calls, ecm.open) == ([], True)


@pytest.mark.parametrize("user", ["asmith", "bjones"], ids=["assignee", "supervisor"])
def test_a_step_asking_for_authentication_is_neither_handed_over_nor_sent_on(user: str) -> None:
    """No push reply can carry `authentication_info`: refused before any change in ECM."""
    ecm = FakeContentServer(authentication=True, member_accept=True)
    with pytest.raises(EcmStepNeedsAuthentication):
        service(ecm, WriteBackRecorder(TRACKED)).apply(reply(user=user), 5)
    assert (ecm.calls, ecm.open, ecm.holder) == ([], True, "asmith")


def test_someone_the_step_moved_away_from_cannot_take_it_back() -> None:
    """asmith's step was forwarded to cwu inside ECM; asmith still holds the old push."""
    ecm = FakeContentServer(holder="cwu")
    with pytest.raises(EcmNotAssignee):
        service(ecm, WriteBackRecorder(TRACKED)).apply(reply(user="asmith"), 5)
    assert (ecm.calls, ecm.holder) == ([], "cwu")


def test_a_group_step_is_accepted_first() -> None:
    ecm = FakeContentServer(member_accept=True)
    service(ecm, WriteBackRecorder(TRACKED)).apply(reply(), 5)
    assert [c[0] for c in ecm.calls] == ["accept", "complete"]


def test_a_step_finished_by_our_earlier_attempt_is_applied_not_sent_again() -> None:
    ecm, recorder = FakeContentServer(), WriteBackRecorder(TRACKED)
    service(ecm, recorder).apply(reply(), 5)
    ecm.calls.clear()
    assert service(ecm, recorder).apply(reply(), 5) is ReplyStatus.APPLIED  # the same reply
    assert ecm.calls == []
    other = reply(comment="changed my mind")
    assert service(ecm, recorder).apply(other, 5) is ReplyStatus.TASK_CLOSED
    # Nothing of the second reply's is recorded as the decision: Content Server had decided.
    withdrawal = recorder.published[-1]
    assert isinstance(withdrawal, WithdrawalMessage)
    assert withdrawal.decision.by is None
    assert (withdrawal.decision.action, withdrawal.decision.platform) == ("completed", "ecm")


def test_the_same_comment_from_someone_else_is_not_ours() -> None:
    ecm = FakeContentServer(open=False)
    mine = reply()
    comment = audit_comment(mine.comment, prefix="", platform="ios", replied_at=NOW)
    ecm.history.append(Activity("Approve", comment, "now", user_id=IDS["cwu"]))
    assert service(ecm, WriteBackRecorder(TRACKED)).apply(mine, 5) is ReplyStatus.TASK_CLOSED


def test_without_impersonation_nothing_is_sent_and_the_operator_is_told() -> None:
    ecm, recorder = FakeContentServer(impersonating=False), WriteBackRecorder(TRACKED)
    with pytest.raises(EcmAuthError, match="impersonation"):
        service(ecm, recorder).apply(reply(), 5)
    assert (ecm.calls, recorder.marked) == ([], [])


@pytest.mark.parametrize(
    ("receive_count", "retry_after", "shortest", "longest"),
    [
        pytest.param(1, None, 15, 30, id="first-retry"),
        pytest.param(3, None, 60, 120, id="doubling"),
        pytest.param(9, None, 450, 900, id="at-most-15-min"),
        pytest.param(2, 45.5, 45, 60, id="ecm-hint-is-a-floor"),
        pytest.param(2, 0.2, 30, 60, id="a-short-hint-keeps-the-backoff"),
        pytest.param(2, 86_400, 900, 900, id="hint-at-most-15-min"),
    ],
)
def test_a_reply_content_server_could_not_take_waits_a_doubling_backoff_or_its_hint(
    receive_count: int, retry_after: float | None, shortest: int, longest: int
) -> None:
    assert backoff_seconds(receive_count, retry_after, rand=0.0) == shortest
    assert backoff_seconds(receive_count, retry_after, rand=1.0) == longest


class Figures:
    def __init__(self) -> None:
        self.decisions: list[tuple[str, str, float]] = []

    def decided(self, *, flow: str, stage: str, seconds: float) -> None:
        self.decisions.append((flow, stage, seconds))


def test_an_applied_reply_reports_the_time_from_the_first_push_to_the_decision() -> None:
    figures = Figures()
    pushed_at = NOW - timedelta(hours=2)
    recorder = WriteBackRecorder(tracked_task(stage="review", opened_at=pushed_at))
    writer = service(FakeContentServer(), recorder, figures=figures)
    writer.apply(reply(action="acknowledge"), 5)
    assert figures.decisions == [("task.assigned", "review", 7200.0)]
    closed = WriteBackRecorder(TRACKED.model_copy(update={"status": "closed"}))
    late = service(FakeContentServer(), closed, figures=figures)
    late.apply(reply(), 5)
    assert len(figures.decisions) == 1  # a task closed already was decided elsewhere
