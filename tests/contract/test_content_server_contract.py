"""The Content Server contract ecmpush relies on, checked against the stand-in in CI and against
a customer's own Content Server before going live (tests/contract/conftest.py says how).

Each check goes through the real adapter and, for replies, the real write-back service, so a
server that differs from what ecmpush expects fails here with the call that differed."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from ecmpush.domain.ecm.errors import EcmNotFound, EcmRejected
from ecmpush.domain.ecm.task_ref import TaskRef
from ecmpush.domain.replies.requests import ReplyStatus
from ecmpush.domain.replies.write_back import Reply
from ecmpush.domain.sweeps.expiry_search import parse_ecm_date, parse_search_config
from ecmpush.services.write_back import WriteBackService
from tests.contract.conftest import Target
from tests.fakes import WriteBackRecorder

pytestmark = pytest.mark.contract
ACTIONS = ("approve", "reject", "acknowledge", "request_info")


def _ref(step: dict[str, Any]) -> TaskRef:
    return TaskRef(
        process_id=step["process_id"], subprocess_id=step["subprocess_id"], task_id=step["task_id"]
    )


def _reply(step: dict[str, Any], action: str, response_id: str, second: int) -> Reply:
    return Reply(
        response_id=response_id,
        notification_id=f"contract-{action}",
        ecm_user=step["assignee"],
        task=TaskRef(
            process_id=str(step["process_id"]),
            subprocess_id=str(step["subprocess_id"]),
            task_id=str(step["task_id"]),
        ),
        action=action,
        comment=f"ecmpush contract check: {action}",
        platform="contract-test",
        replied_at=datetime(2026, 12, 2, 10, 0, second, tzinfo=UTC),
    )


def _service(otcs: Target, recorder: WriteBackRecorder) -> WriteBackService:
    return WriteBackService(
        ecm=lambda: otcs.client,
        replies=recorder.replies,
        tasks=recorder,
        publisher=recorder,
        app_base_url="https://app.example.com",
        clock=lambda: datetime.now(UTC),
    )


def test_status_form_and_tickets(otcs: Target) -> None:
    """The service account reads the workflow status; the assignee (impersonated) opens the form
    of the step; nobody else does."""
    step = otcs.tasks["approve"]
    ref = _ref(step)
    status = otcs.client.workflow_status(ref.process_id)
    current = status.current_step(ref)
    assert current is not None, f"{ref} is not in progress: use an open test step"
    assert current.assigned_to(step["assignee"])
    assert status.initiator is not None
    assert status.initiator.user_id is not None
    form = otcs.client.get_task(ref, as_user=step["assignee"])
    assert form.actions or form.custom_actions
    assert isinstance(otcs.client.user_id(step["assignee"]), int)


@pytest.mark.parametrize("action", ACTIONS)
def test_each_reply_is_applied_once_and_read_back(otcs: Target, action: str) -> None:
    step = otcs.tasks[action]
    ref = _ref(step)
    recorder = WriteBackRecorder()
    service = _service(otcs, recorder)
    reply = _reply(step, action, f"contract-{action}-1", 1)

    assert service.apply(reply, budget_s=20) is ReplyStatus.APPLIED
    assert not otcs.client.workflow_status(ref.process_id).is_open(ref)
    user_id = otcs.client.user_id(step["assignee"])
    mine = [
        entry
        for entry in otcs.client.task_activities(ref)
        if entry.comment.startswith(f"ecmpush contract check: {action}")
    ]
    assert [entry.user_id for entry in mine] == [user_id]

    # The same reply again (a lost answer, a re-delivered message) is recognised, not resent.
    assert service.apply(reply, budget_s=20) is ReplyStatus.APPLIED
    # Another reply to the finished step is refused as closed.
    later = _reply(step, action, f"contract-{action}-2", 2)
    assert service.apply(later, budget_s=20) is ReplyStatus.TASK_CLOSED
    again = [
        e for e in otcs.client.task_activities(ref) if e.comment.startswith("ecmpush contract")
    ]
    assert len(again) == 1
    assert recorder.marked == [ReplyStatus.APPLIED, ReplyStatus.APPLIED, ReplyStatus.TASK_CLOSED]


def test_search_with_select_returns_category_values(otcs: Target) -> None:
    if otcs.search is None:
        pytest.skip("ECMPUSH_OTCS_SEARCH not set: no expiry search to check")
    config = parse_search_config(otcs.search)
    assert config is not None
    where = config.where.replace("{today}", "20260101").replace("{horizon}", "20991231")
    page = otcs.client.search(
        where,
        select=config.regions,
        location_id=list(config.location_ids) or None,
        limit=config.page_size,
    )
    assert page.rows, "the expiry search found nothing: check `where` and the locations"
    dates = [parse_ecm_date(row.categories.get(config.date_attribute)) for row in page.rows]
    assert all(dates), f"hits without a readable {config.date_attribute}: is `select` honoured?"


def test_a_group_pages_through_its_users_and_lists_its_member_groups(otcs: Target) -> None:
    """What Dispatch relies on for a team kept as a group: `where_type` separates users from
    member groups, pages follow `page_total` whatever page size the server chose, and every
    user page names logins."""
    if otcs.group is None:
        pytest.skip("ECMPUSH_OTCS_GROUP not set: no group to page")
    first = otcs.client.group_members(otcs.group, member_type="users", page=1)
    assert first.users, "the group lists no users: is it the right id, visible to the account?"
    assert first.groups == ()  # where_type=0 answers users only
    logins = list(first.users)
    for page in range(2, first.page_total + 1):
        logins += otcs.client.group_members(otcs.group, member_type="users", page=page).users
    assert len(logins) == first.total_count
    assert len(set(logins)) == len(logins)  # no member on two pages
    groups = otcs.client.group_members(otcs.group, member_type="groups", page=1)
    assert groups.users == ()  # where_type=1 answers groups only


def test_unknown_ids_are_refusals_never_outages(otcs: Target) -> None:
    """What Dispatch, the SLA sweep and the relay rely on: an unknown process answers 400 "Could
    not access task status", an unknown group 500 "Could not get a member for {id}", an unknown
    node 400 "Could not get a node for {id}" (REST API 2.0.2); each is read as a refusal, so
    nothing is retried into a dead-letter queue. Read-only: safe on a real server."""
    unknown = 999_999_999_999  # no Content Server hands out ids this large in practice
    with pytest.raises(EcmNotFound):
        otcs.client.workflow_status(unknown)
    with pytest.raises(EcmNotFound):
        otcs.client.task_activities(TaskRef(process_id=unknown, subprocess_id=unknown, task_id=1))
    with pytest.raises((EcmNotFound, EcmRejected)):
        otcs.client.group_members(unknown, member_type="users", page=1)
