"""The relay's decisions: which steps become which webhook events, and what it remembers."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ecmpush.domain.ecm import ActiveWorkflow, Member, TaskRef, WorkflowStatus, WorkflowStep
from ecmpush.domain.webhook_body import parse_body
from senders.relay.assignments import changes, due_at
from senders.relay.config import MapRule, RelayConfig

NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
WORKFLOW = ActiveWorkflow("4711", "4711", "Contract approval", map_id=30000)


def _config(tmp_path: Path) -> RelayConfig:
    return RelayConfig(
        webhook_url="http://127.0.0.1:1",
        webhook_secret="s",
        tenant="acme",
        ecm_base_url="http://127.0.0.1:2",
        ecm_secret={},
        state_file=tmp_path / "state.json",
        maps={30000: MapRule(stage="approval", supervisor="bjones", priority="high")},
    )


def _status(*holders: str, due: str = "2026-12-04T17:00:00") -> WorkflowStatus:
    step = WorkflowStep(
        ref=TaskRef(4711, 4711, 1),
        name="Approver",
        status="ontime",
        assignees=tuple(Member(1000 + i, login) for i, login in enumerate(holders)),
        due_date=due,
    )
    return WorkflowStatus("4711", "ontime", Member(1002, "bjones"), current=(step,))


def test_a_new_step_is_announced_as_a_valid_event(tmp_path: Path) -> None:
    [change] = changes(_config(tmp_path), {}, [(WORKFLOW, _status("asmith"))], NOW)
    event = change.event
    assert event["id"] == "otcs-4711-4711-1-asmith"
    assert event["data"]["task"] == {
        "process_id": "4711",
        "subprocess_id": "4711",
        "task_id": "1",
        "title": "Contract approval: Approver",
        "stage": "approval",
        "priority": "high",
        "due_at": "2026-12-04T17:00:00Z",
    }
    assert event["data"]["supervisor"] == {"user_id": "bjones"}
    parsed = parse_body(json.dumps(event).encode())  # the webhook's own parser
    assert parsed.items[0].event is not None


def test_announced_steps_are_not_announced_again(tmp_path: Path) -> None:
    known = {"4711/4711/1": frozenset({"asmith"})}
    assert changes(_config(tmp_path), known, [(WORKFLOW, _status("asmith"))], NOW) == []


def test_a_forwarded_step_is_announced_to_its_new_holder(tmp_path: Path) -> None:
    known: dict[str, frozenset[str]] = {"4711/4711/1": frozenset({"asmith"})}
    [change] = changes(_config(tmp_path), known, [(WORKFLOW, _status("cwu"))], NOW)
    assert change.event["data"]["assignee"] == {"user_id": "cwu"}
    change.applied(known)
    assert known == {"4711/4711/1": frozenset({"cwu"})}


def test_a_group_step_is_announced_to_each_member_and_remembered_per_member(
    tmp_path: Path,
) -> None:
    known: dict[str, frozenset[str]] = {}
    first, second = changes(_config(tmp_path), known, [(WORKFLOW, _status("asmith", "cwu"))], NOW)
    second.applied(known)  # only the second reached the webhook
    assert known == {"4711/4711/1": frozenset({"cwu"})}
    [again] = changes(_config(tmp_path), known, [(WORKFLOW, _status("asmith", "cwu"))], NOW)
    assert again.event["id"] == first.event["id"]


def test_a_step_no_longer_running_is_completed_once(tmp_path: Path) -> None:
    known: dict[str, frozenset[str]] = {"4711/4711/1": frozenset({"asmith"})}
    [change] = changes(_config(tmp_path), known, [], NOW)
    assert (change.event["type"], change.event["id"]) == (
        "task.completed",
        "otcs-4711-4711-1-completed",
    )
    change.applied(known)
    assert known == {}


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2024-10-03T15:21:23", "2024-10-03T15:21:23Z"),
        ("2026-12-02T17:00:00Z", "2026-12-02T17:00:00Z"),
        ("2026-12-02T18:00:00+01:00", "2026-12-02T17:00:00Z"),
        ("", None),
        ("next week", None),
    ],
)
def test_due_dates_as_content_server_writes_them(raw: str, expected: str | None) -> None:
    assert due_at(raw) == expected


@pytest.mark.parametrize("body", [b"<html>gateway</html>", b'{"results": "x"}', b"[1]"])
def test_a_malformed_batch_answer_leaves_the_events_pending(
    monkeypatch: pytest.MonkeyPatch, body: bytes
) -> None:
    import requests

    from senders.relay import webhook

    answer = requests.Response()
    answer.status_code, answer._content = 207, body
    monkeypatch.setattr(webhook, "post_body", lambda *args, **kwargs: answer)
    outcome = webhook.deliver("http://127.0.0.1:1", "s", [{"id": "e-1"}, {"id": "e-2"}])
    assert outcome == {"e-1": "failed:207", "e-2": "failed:207"}
