"""What changed in Content Server since the last poll, as webhook events. Pure: the poller
reads Content Server and keeps the state; this decides.

A step is announced once to each of its holders (`task.assigned`; a group step to each member,
a forwarded step to its new assignee); a step that left the running steps is announced
`task.completed` once. Event ids are derived
from the step and assignee, so a relay that crashed after posting and posts again is answered
`duplicate` by the webhook, never a second push."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ecmpush.clock import rfc3339
from ecmpush.domain.ecm import ActiveWorkflow, WorkflowStatus, WorkflowStep
from senders.relay.config import RelayConfig

TITLE_MAX = 512


def step_key(step: WorkflowStep) -> str:
    return str(step.ref)


def _iso(moment: datetime) -> str:
    return rfc3339(moment.astimezone(UTC).replace(microsecond=0))


def due_at(raw: str) -> str | None:
    """Content Server writes step due dates as `2024-10-03T15:21:23` (no zone: read as UTC, as
    the expiry sweep reads category dates), with a zone, or empty."""
    if not raw.strip():
        return None
    try:
        moment = datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return _iso(moment if moment.tzinfo else moment.replace(tzinfo=UTC))


def _title(workflow: ActiveWorkflow, step: WorkflowStep) -> str:
    if workflow.title and step.name and workflow.title != step.name:
        title = f"{workflow.title}: {step.name}"
    else:
        title = step.name or workflow.title or f"Workflow step {step.ref}"
    return title[:TITLE_MAX]


def assigned_event(
    config: RelayConfig, workflow: ActiveWorkflow, step: WorkflowStep, assignee: str, now: datetime
) -> dict[str, Any]:
    rule = config.rule(workflow.map_id)
    task: dict[str, Any] = {
        "process_id": step.ref.process_id,
        "subprocess_id": step.ref.subprocess_id,
        "task_id": step.ref.task_id,
        "title": _title(workflow, step),
        "stage": rule.stage,
        "priority": rule.priority,
    }
    due = due_at(step.due_date)
    if due:
        task["due_at"] = due
    data: dict[str, Any] = {"task": task, "assignee": {"user_id": assignee}}
    for role in ("supervisor", "backup"):
        person = getattr(rule, role)
        if person and person != assignee:
            data[role] = {"user_id": person}
    return {
        "id": f"otcs-{step.ref.process_id}-{step.ref.subprocess_id}-{step.ref.task_id}-{assignee}"[
            :128
        ],
        "type": "task.assigned",
        "occurred_at": _iso(now),
        "tenant": config.tenant,
        "data": data,
    }


def completed_event(config: RelayConfig, key: str, now: datetime) -> dict[str, Any]:
    process_id, subprocess_id, task_id = key.split("/")
    return {
        "id": f"otcs-{process_id}-{subprocess_id}-{task_id}-completed",
        "type": "task.completed",
        "occurred_at": _iso(now),
        "tenant": config.tenant,
        "data": {
            "task": {"process_id": process_id, "subprocess_id": subprocess_id, "task_id": task_id}
        },
    }


@dataclass(frozen=True)
class Change:
    """One event to post. `assignee` is whom a `task.assigned` announces (None for
    `task.completed`), `holders` the step's holders now."""

    event: dict[str, Any]
    key: str
    assignee: str | None = None
    holders: frozenset[str] = frozenset()

    def applied(self, known: dict[str, frozenset[str]]) -> None:
        """Record in `known` that the webhook has this event."""
        if self.assignee is None:
            known.pop(self.key, None)
        else:
            known[self.key] = (known.get(self.key, frozenset()) & self.holders) | {self.assignee}


def changes(
    config: RelayConfig,
    known: Mapping[str, frozenset[str]],
    running: Iterable[tuple[ActiveWorkflow, WorkflowStatus]],
    now: datetime,
) -> list[Change]:
    """Events for the holders of running steps that were not announced to them yet, and for the
    steps in `known` that are no longer running."""
    out: list[Change] = []
    current: set[str] = set()
    for workflow, status in running:
        for step in status.current:
            key = step_key(step)
            current.add(key)
            holders = frozenset(m.login for m in step.assignees if m.login.strip())
            for assignee in sorted(holders - known.get(key, frozenset())):
                event = assigned_event(config, workflow, step, assignee, now)
                out.append(Change(event, key, assignee, holders))
    for key in sorted(set(known) - current):
        out.append(Change(completed_event(config, key, now), key))
    return out
