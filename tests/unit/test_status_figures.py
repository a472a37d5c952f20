"""`python -m devstack status` process figures (issue 23 item 6) from table items: time to open
and to decision per flow and stage at p50/p90, the share decided from a push, withdrawals and
the not-seen steps."""

from __future__ import annotations

from typing import Any

from devstack.status import percentile, process_figures, render

TASK = {"process_id": "4711", "subprocess_id": "4711", "task_id": "1"}


def _header(nid: str, created_at: str, kind: str = "task.assigned") -> dict[str, Any]:
    notification = {"type": kind, "category": "approval", "task": TASK}
    return {"notification_id": nid, "sk": "#notification", "created_at": created_at,
            "notification": notification}  # fmt: skip


def _delivery(nid: str, device: str, **receipts: str) -> dict[str, Any]:
    return {"notification_id": nid, "sk": f"d#asmith#{device}", "status": "sent", **receipts}


def test_percentiles_are_nearest_rank() -> None:
    values = [float(v) for v in range(1, 11)]
    assert (percentile(values, 0.5), percentile(values, 0.9)) == (5.0, 9.0)
    assert percentile([7.0], 0.9) == 7.0


def test_figures_from_deliveries_and_tasks() -> None:
    deliveries = [
        _header("n1", "2026-12-01T09:00:00Z"),
        _delivery("n1", "phone", opened_at="2026-12-01T09:10:00Z"),
        _delivery("n1", "laptop", opened_at="2026-12-01T09:05:00Z", withdrawn_at="x"),
        _header("n2", "2026-12-01T09:00:00Z"),
        _delivery("n2", "phone", displayed_at="2026-12-01T09:01:00Z"),  # never opened
        _delivery("n3", "phone", opened_at="2026-12-01T09:01:00Z"),  # header expired: skipped
    ]
    tasks: list[dict[str, Any]] = [
        {"task_key": "4711/4711/1", "stage": "review", "status": "closed",
         "opened_at": "2026-12-01T09:00:00Z", "closed_at": "2026-12-01T10:00:00Z",
         "outcome": "approve by asmith via ecmpush",
         "sla_steps": [{"kind": "sla.reminder", "reason": "not_seen"},
                       {"kind": "sla.escalation", "reason": "not_seen"},
                       {"kind": "sla.reminder"}]},
        {"task_key": "4712/4712/1", "stage": "approval", "status": "closed",
         "opened_at": "2026-12-01T09:00:00Z", "closed_at": "2026-12-01T11:00:00Z",
         "outcome": "completed"},
        {"task_key": "4713/4713/1", "stage": "approval", "status": "open",
         "opened_at": "2026-12-01T09:00:00Z"},
    ]  # fmt: skip
    figures = process_figures(deliveries, tasks)
    assert figures["time_to_open"] == {"task.assigned/review": {"p50": 300.0, "p90": 300.0, "n": 1}}
    assert figures["time_to_decision"] == {
        "task.assigned/review": {"p50": 3600.0, "p90": 3600.0, "n": 1}
    }
    assert figures["decided"] == {"closed": 2, "from_push": 1}
    assert figures["withdrawn"] == 1
    assert figures["not_seen"] == {"reminders": 1, "escalations": 1}


def test_render_shows_the_process_figures() -> None:
    process = process_figures(
        [
            _header("n1", "2026-12-01T09:00:00Z"),
            _delivery("n1", "p", opened_at="2026-12-01T09:30:00Z"),
        ],
        [],
    )
    text = render(
        {
            "pushes": {"sent": 1, "failed": 0, "pruned": 0},
            "webhook": {"2xx": 1, "4xx": 0, "5xx": 0},
            "write_back_lag_s": None,
            "queues": {},
            "sweeps": {},
            "process": process,
        }
    )
    assert "from a push 0 of 0 closed (-)" in text
    assert "task.assigned/approval" in text
    assert "30 min" in text
