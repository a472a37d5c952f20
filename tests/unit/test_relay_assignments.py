"""The relay's decisions: which steps become which webhook events, and what it remembers."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from ecmpush.domain.ecm.model import ActiveWorkflow, Member, WorkflowStatus, WorkflowStep
from ecmpush.domain.ecm.task_ref import TaskRef
from ecmpush.entrypoints.webhook_body import parse_body
from senders.relay.assignments import changes, due_at, event_id
from senders.relay.config import MapRule, RelayConfig
from tests.conftest import fullwidth

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


def _running(
    *holders: str, due: str = "2026-12-04T17:00:00"
) -> list[tuple[ActiveWorkflow, WorkflowStep]]:
    step = WorkflowStep(
        ref=TaskRef(process_id=4711, subprocess_id=4711, task_id=1),
        name="Approver",
        status="ontime",
        assignees=tuple(Member(1000 + i, login) for i, login in enumerate(holders)),
        due_date=due,
    )
    return [(WORKFLOW, step)]


def test_a_new_step_is_announced_as_a_valid_event(tmp_path: Path) -> None:
    [change] = changes({}, _running("asmith"))
    event = change.event(_config(tmp_path), NOW)
    assert event["id"] == "otcs-4711-4711-1-9abe8c76b211c6e1"  # SHA-256 of the login, not it
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
    assert changes(known, _running("asmith")) == []


def test_a_forwarded_step_is_announced_to_its_new_holder(tmp_path: Path) -> None:
    known: dict[str, frozenset[str]] = {"4711/4711/1": frozenset({"asmith"})}
    [change] = changes(known, _running("cwu"))
    assert change.event(_config(tmp_path), NOW)["data"]["assignee"] == {"user_id": "cwu"}
    change.applied(known)
    assert known == {"4711/4711/1": frozenset({"cwu"})}


def test_a_group_step_is_announced_to_each_member_and_remembered_per_member(
    tmp_path: Path,
) -> None:
    known: dict[str, frozenset[str]] = {}
    first, second = changes(known, _running("asmith", "cwu"))
    second.applied(known)  # only the second reached the webhook
    assert known == {"4711/4711/1": frozenset({"cwu"})}
    [again] = changes(known, _running("asmith", "cwu"))
    assert again.event_id == first.event_id == event_id("4711/4711/1", "asmith")


def test_holders_are_announced_in_the_one_spelling_the_webhook_reads(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Issue 20, finding 9: Content Server's `ASmith` is ecmpush's `asmith` (one event, not one
    per spelling); a login the webhook would refuse is left out, logged by pseudonym only."""
    known: dict[str, frozenset[str]] = {"4711/4711/1": frozenset({"asmith"})}
    [change] = changes(known, _running("ASmith", fullwidth("CWU"), "dlee\u200b"))
    assert change.assignee == "cwu"
    assert change.holders == frozenset({"asmith", "cwu"})
    assert change.event(_config(tmp_path), NOW)["data"]["assignee"] == {"user_id": "cwu"}
    assert "left out" in caplog.text
    assert "dlee" not in caplog.text


def test_a_step_no_longer_running_is_completed_once(tmp_path: Path) -> None:
    known: dict[str, frozenset[str]] = {"4711/4711/1": frozenset({"asmith"})}
    [change] = changes(known, [])
    event = change.event(_config(tmp_path), NOW)
    assert (event["type"], event["id"]) == (
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


class _Ecm:
    """Content Server as the poll reads it: active rows per map, a status per process."""

    def __init__(self, rows: list[ActiveWorkflow], steps: list[WorkflowStep]) -> None:
        self.rows, self.steps = rows, steps
        self.status_calls: list[str] = []

    def active_workflows(
        self, *, map_id: int | str | None = None, budget_s: float | None = None
    ) -> list[ActiveWorkflow]:
        return [r for r in self.rows if map_id is None or r.map_id == map_id]

    def workflow_status(
        self, process_id: str | int, *, budget_s: float | None = None
    ) -> WorkflowStatus:
        self.status_calls.append(str(process_id))
        current = tuple(s for s in self.steps if s.ref.process_id == str(process_id))
        return WorkflowStatus(str(process_id), "ontime", None, current)


def _step(p: int, s: int, t: int, name: str, *holders: str) -> WorkflowStep:
    members = tuple(Member(1000 + i, login) for i, login in enumerate(holders))
    return WorkflowStep(TaskRef(process_id=p, subprocess_id=s, task_id=t), name, "ontime", members)


def test_a_process_with_subprocesses_is_read_once_and_each_step_titled_by_its_own_row(
    tmp_path: Path,
) -> None:
    """The active list has a row per running (sub)process: the process's status is read once
    and each current step is announced once, under its subprocess's title."""
    from senders.relay.poller import poll

    ecm = _Ecm(
        [
            ActiveWorkflow("4711", "4711", "Contract approval", map_id=30000),
            ActiveWorkflow("4711", "4712", "Legal review", map_id=30000),
        ],
        [_step(4711, 4711, 1, "Approver", "asmith"), _step(4711, 4712, 2, "Lawyer", "cwu")],
    )
    posted: list[Mapping[str, Any]] = []

    def deliver(events: Sequence[Mapping[str, Any]]) -> dict[str, str]:
        posted.extend(events)
        return {str(e["id"]): "accepted" for e in posted}

    report = poll(_config(tmp_path), ecm, deliver, now=lambda: NOW)
    assert ecm.status_calls == ["4711"]
    assert (report.workflows, report.sent) == (1, 2)
    titles = {e["id"]: e["data"]["task"]["title"] for e in posted}
    assert titles == {
        event_id("4711/4711/1", "asmith"): "Contract approval: Approver",
        event_id("4711/4712/2", "cwu"): "Legal review: Lawyer",
    }


def test_a_version_1_state_file_is_read_and_written_back_as_version_2(tmp_path: Path) -> None:
    from senders.relay import state

    path = tmp_path / "state.json"
    path.write_text(json.dumps({"version": 1, "steps": {"4711/4711/1": ["asmith"]}}))
    loaded = state.load(path)
    assert (loaded.known, loaded.seen) == ({"4711/4711/1": frozenset({"asmith"})}, {})
    state.save(path, loaded)
    assert json.loads(path.read_text())["version"] == 2
    path.write_text(json.dumps({"version": 3, "steps": {}}))
    with pytest.raises(ValueError, match="version"):
        state.load(path)


def test_poll_forgets_the_fixed_time_of_an_event_whose_step_went_away_undelivered(
    tmp_path: Path,
) -> None:
    """A time fixed before this poll for a step it no longer finds current goes; one fixed
    after the poll started (an announce the poll could not have seen) stays."""
    from senders.relay import state
    from senders.relay.poller import poll

    config = _config(tmp_path)
    state.save(
        config.state_file,
        state.RelayState(
            seen={
                event_id("4800/4800/1", "asmith"): "2026-12-02T08:00:00Z",  # gone before delivery
                event_id("4801/4801/1", "cwu"): "2026-12-02T09:00:05Z",  # an announce's, after NOW
            }
        ),
    )
    poll(config, _Ecm([], []), lambda events: {}, now=lambda: NOW)
    assert state.load(config.state_file).seen == {
        event_id("4801/4801/1", "cwu"): "2026-12-02T09:00:05Z"
    }
