"""The approver's API rules (domain/approver/steps.py, services/approver.py) on in-memory fakes:
Content Server's listing decides what is shown, ecmpush's tracking only adds to it; the action
token's state; the parsing of Content Server's assignment shapes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ecmpush.adapters.ecm import parsing
from ecmpush.domain.approver.documents import metadata
from ecmpush.domain.approver.steps import ReplySummary, TrackedPush, parse_due, push_state
from ecmpush.domain.ecm.errors import EcmNotAssignee, EcmProtocolError
from ecmpush.domain.ecm.model import (
    Activity,
    Assignment,
    Member,
    NodeInfo,
    TaskDetails,
    WorkflowStatus,
)
from ecmpush.domain.ecm.task_ref import TaskRef
from ecmpush.domain.identity import Principal
from ecmpush.domain.replies.dispositions import ActionOption
from ecmpush.domain.sweeps.tasks import TrackedTask
from ecmpush.services.approver import ApproverService, InternalUsersOnly, NotYourStep
from tests.fakes import Partial, tracked_task

NOW = datetime(2026, 12, 8, 12, 0, tzinfo=UTC)
TTL = timedelta(hours=168)
ASMITH = Principal("uid-1", "asmith")
MINE = TaskRef(process_id="4711", subprocess_id="4711", task_id="1")
LATER = TaskRef(process_id="4714", subprocess_id="4714", task_id="1")
ELSEWHERE = TaskRef(process_id="4712", subprocess_id="4712", task_id="1")


class Inbox(Partial):
    """`ContentServer` as the approver's API reads it: one inbox per user."""

    def __init__(self, inboxes: Mapping[str, list[Assignment]]) -> None:
        self.inboxes = inboxes
        self.asked_as: list[str] = []
        self.refuse_form = False

    def assignments(self, as_user: str, *, budget_s: float | None = None) -> list[Assignment]:
        self.asked_as.append(as_user)
        return list(self.inboxes.get(as_user, []))

    def get_task(
        self, ref: TaskRef, *, as_user: str | None = None, budget_s: float | None = None
    ) -> TaskDetails:
        if self.refuse_form:
            raise EcmNotAssignee("not yours any more")
        return TaskDetails(
            ref=ref,
            title="Approve",
            instructions="Check section 7.",
            actions=(ActionOption(key="SendOn", label="Send On"),),
            custom_actions=(ActionOption(key="Approve", label="Approve"),),
            comments_on=True,
            member_accept=False,
            authentication=False,
        )

    def workflow_status(self, process_id: str | int, *, budget_s: float | None = None) -> Any:
        return WorkflowStatus(
            process_id=str(process_id),
            status="running",
            initiator=Member(user_id=1002, login="bjones"),
            current=(),
        )

    def task_activities(self, ref: TaskRef, *, budget_s: float | None = None) -> list[Activity]:
        return [Activity(action="Initiate", comment="please", date="2026-12-01T08:00:00Z")]


class Tracked(Partial):
    """`TrackedStepsPort`: tracked tasks and pushes by task key."""

    def __init__(self, tasks: Sequence[TrackedTask], pushes: Mapping[str, list[TrackedPush]]):
        self._tasks = {t.ref: t for t in tasks}
        self._pushes = pushes

    def tasks(self, refs: Sequence[TaskRef]) -> Mapping[TaskRef, TrackedTask]:
        return {r: self._tasks[r] for r in refs if r in self._tasks}

    def pushes(
        self, tasks: Sequence[TrackedTask], owner: str, *, with_sla: bool = False
    ) -> Mapping[str, list[TrackedPush]]:
        found = {t.task_key: list(self._pushes.get(t.task_key, [])) for t in tasks}
        if not with_sla:
            found = {k: [p for p in v if p.type == "task.assigned"] for k, v in found.items()}
        return found


def _assignment(ref: TaskRef, due: str = "", **changes: Any) -> Assignment:
    values: dict[str, Any] = {"ref": ref, "name": f"Step {ref}", "date_due": due}
    return Assignment(**{**values, **changes})


def _push(nid: str = "n-1", kind: str = "task.assigned", **changes: Any) -> TrackedPush:
    values: dict[str, Any] = {
        "notification_id": nid,
        "type": kind,
        "created_at": NOW - timedelta(hours=1),
        "actions": ("approve", "reject", "request_info"),
    }
    return TrackedPush(**{**values, **changes})


def _service(inbox: Inbox, tracked: Tracked) -> ApproverService:
    return ApproverService(
        ecm=lambda: inbox, tracked=lambda: tracked, clock=lambda: NOW, token_ttl=TTL
    )


def test_only_what_content_server_lists_is_shown_overdue_first() -> None:
    inbox = Inbox(
        {
            "asmith": [
                _assignment(LATER, "2099-01-01T00:00:00Z"),
                _assignment(MINE, "2026-12-02T17:00:00", priority_name="High",
                            from_user_id=1002, from_login="bjones"),
            ]
        }
    )  # fmt: skip
    tracked = Tracked(
        [
            tracked_task("4711", notification_id="n-1", document_node_id="90210"),
            tracked_task("4712", notification_id="n-2"),  # tracked, but not in the inbox
        ],
        {"4711/4711/1": [_push("n-1")], "4712/4712/1": [_push("n-2")]},
    )
    waiting = _service(inbox, tracked).waiting(ASMITH)
    assert [s.process_id for s in waiting.tasks] == ["4711", "4714"]
    first, second = waiting.tasks
    assert first.overdue
    assert not second.overdue
    assert first.due_at == datetime(2026, 12, 2, 17, 0, tzinfo=UTC)  # no zone: UTC
    assert first.priority == "high"
    assert first.stage == "approval"
    assert first.sender is not None
    assert first.sender.login == "bjones"
    assert first.document is not None
    assert first.document.node_id == "90210"
    assert first.push is not None
    assert first.push.action_token == "open"
    assert second.push is None
    assert second.stage is None
    assert inbox.asked_as == ["asmith"]


def test_the_task_view_needs_the_step_in_the_callers_inbox() -> None:
    inbox = Inbox({"asmith": [_assignment(MINE)], "cwu": [_assignment(ELSEWHERE)]})
    pushes = [_push("n-1"), _push("n-sla", "sla.reminder", created_at=NOW)]
    tracked = Tracked([tracked_task("4711", notification_id="n-1")], {"4711/4711/1": pushes})
    service = _service(inbox, tracked)
    view = service.step(ASMITH, MINE)
    assert view.instructions == "Check section 7."
    assert [a.key for a in view.actions] == ["Approve", "SendOn"]
    assert view.initiator is not None
    assert view.initiator.login == "bjones"
    assert [p.type for p in view.pushes] == ["task.assigned", "sla.reminder"]
    assert [e.source for e in view.history] == ["content_server", "ecmpush", "ecmpush"]
    with pytest.raises(NotYourStep):
        service.step(ASMITH, ELSEWHERE)
    inbox.refuse_form = True  # listed a moment ago, sent on since: not the caller's
    with pytest.raises(NotYourStep):
        service.step(ASMITH, MINE)


def test_external_stakeholders_have_no_content_server_inbox() -> None:
    service = _service(Inbox({}), Tracked([], {}))
    with pytest.raises(InternalUsersOnly):
        service.waiting(Principal("uid-2", None, "C-42"))
    with pytest.raises(InternalUsersOnly):
        service.content(Principal("uid-2", None, "C-42"), "88001")


@pytest.mark.parametrize(
    ("reply", "created", "state"),
    [
        (None, NOW - timedelta(hours=1), "open"),
        (ReplySummary(action="approve", status="applied"), NOW - timedelta(hours=1), "answered"),
        (None, NOW - TTL, "expired"),
        (None, NOW - TTL + timedelta(seconds=1), "open"),
    ],
)
def test_action_token_state(reply: ReplySummary | None, created: datetime, state: str) -> None:
    assert push_state(_push(reply=reply, created_at=created), NOW, TTL).action_token == state


def test_a_push_without_buttons_has_no_token_state() -> None:
    state = push_state(_push(actions=()), NOW, TTL)
    assert state.action_token is None
    assert state.action_token_expires_at is None


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2026-12-02T17:00:00Z", datetime(2026, 12, 2, 17, tzinfo=UTC)),
        ("2026-12-02T18:00:00+01:00", datetime(2026, 12, 2, 17, tzinfo=UTC)),
        ("2026-12-02T17:00:00", datetime(2026, 12, 2, 17, tzinfo=UTC)),
        ("", None),
        ("next week", None),
    ],
)
def test_due_dates_as_content_server_writes_them(raw: str, expected: datetime | None) -> None:
    assert parse_due(raw) == expected


def test_too_large_is_said_before_the_download() -> None:
    node = NodeInfo(id=1, name="big.pdf", type=144, mime_type="application/pdf", size=5_000_000)
    assert metadata(node).too_large
    assert not metadata(NodeInfo(id=2, name="unknown size", type=144)).too_large


ROW = {
    "id": 4711001,
    "name": "Approve supplier contract",
    "date_due": "2026-12-02T17:00:00",
    "priority": 2,
    "priority_name": "High",
    "from_user_id": 1002,
    "workflow_id": 4711,
    "workflow_subworkflow_id": 4711,
    "workflow_subworkflow_task_id": 1,
}


@pytest.mark.parametrize(
    "body",
    [
        {"results": [{"data": [{"assignments": [ROW]}]}]},  # REST API 2.0.2, as documented
        {"results": [{"data": {"assignments": ROW}}]},  # one result per assignment
        {"results": {"data": {"assignments": [ROW]}}},  # one object
    ],
    ids=["documented", "v2-list", "object"],
)
def test_assignments_in_every_shape_the_sources_show(body: Any) -> None:
    [found] = parsing.assignments(body)
    assert found.ref == MINE
    assert found.from_user_id == 1002
    assert found.priority_name == "High"


def test_assignments_keep_only_workflow_steps_and_read_an_expanded_sender() -> None:
    expanded = {**ROW, "from_user_id": {"id": 1002, "name": "bjones", "name_formatted": "Bob"}}
    personal = {"id": 5, "name": "Call back", "workflow_id": 0}
    [found] = parsing.assignments({"results": [{"data": [{"assignments": [expanded, personal]}]}]})
    assert (found.from_user_id, found.from_login, found.from_name) == (1002, "bjones", "Bob")
    broken = {**ROW, "workflow_subworkflow_id": "x"}
    with pytest.raises(EcmProtocolError, match="workflow_subworkflow_id"):
        parsing.assignments({"results": [{"data": [{"assignments": [broken]}]}]})
