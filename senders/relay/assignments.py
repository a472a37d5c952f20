"""What changed in Content Server since the last poll, as webhook events. Pure: the poller
reads Content Server and keeps the state; this decides.

A step is announced once to each of its holders (`task.assigned`; a group step to each member,
a forwarded step to its new assignee); a step that left the running steps is announced
`task.completed` once. Event ids are derived from the step and a hash of the assignee's login
(`holder_tag`: ids reach logs, login names must not) and `occurred_at` is
fixed in the state the first time an event is built (`state.py`), so a relay that crashed after
posting and posts again, or the announce endpoint and a poll announcing the same step, post the
very same event: the webhook answers the second `duplicate`, never a second push."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ecmpush.clock import rfc3339
from ecmpush.domain.ecm.model import ActiveWorkflow, WorkflowStep
from ecmpush.domain.user_ids import ecm_user_id
from ecmpush.privacy import who
from senders.relay.config import RelayConfig

TITLE_MAX = 512
log = logging.getLogger(__name__)


def step_key(step: WorkflowStep) -> str:
    return str(step.ref)


def iso(moment: datetime) -> str:
    """`occurred_at` as the relay writes it: UTC, whole seconds."""
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
    return iso(moment if moment.tzinfo else moment.replace(tzinfo=UTC))


def _title(workflow: ActiveWorkflow, step: WorkflowStep) -> str:
    if workflow.title and step.name and workflow.title != step.name:
        title = f"{workflow.title}: {step.name}"
    else:
        title = step.name or workflow.title or f"Workflow step {step.ref}"
    return title[:TITLE_MAX]


def holder_tag(login: str) -> str:
    """What an event id says for a step's holder: 16 hex digits of SHA-256 of the login, not
    the login (event ids are logged by the relay and the webhook; docs/security.md). Unsalted on
    purpose: the id must be the same from every sender, every run and after any configuration
    change, or a repeat would not be a `duplicate`. A hash, not a secret: whoever has a list of
    logins can test a guess, as with the log pseudonyms (`ecmpush.privacy`)."""
    return hashlib.sha256(login.encode()).hexdigest()[:16]


def event_id(key: str, assignee: str | None) -> str:
    """The webhook event id of a step's announcement to `assignee` (`None`: its completion):
    the same from every sender and every run, so a repeat is a `duplicate`."""
    process_id, subprocess_id, task_id = key.split("/")
    suffix = "completed" if assignee is None else holder_tag(assignee)
    return f"otcs-{process_id}-{subprocess_id}-{task_id}-{suffix}"[:128]


def assigned_event(
    config: RelayConfig,
    workflow: ActiveWorkflow,
    step: WorkflowStep,
    assignee: str,
    occurred_at: str,
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
        "id": event_id(step_key(step), assignee),
        "type": "task.assigned",
        "occurred_at": occurred_at,
        "tenant": config.tenant,
        "data": data,
    }


def completed_event(config: RelayConfig, key: str, occurred_at: str) -> dict[str, Any]:
    process_id, subprocess_id, task_id = key.split("/")
    return {
        "id": event_id(key, None),
        "type": "task.completed",
        "occurred_at": occurred_at,
        "tenant": config.tenant,
        "data": {
            "task": {"process_id": process_id, "subprocess_id": subprocess_id, "task_id": task_id}
        },
    }


@dataclass(frozen=True)
class Change:
    """One event to post: a step's announcement to `assignee` (with the workflow row and the
    step it is built from), or the step's completion (`assignee` None). `holders` are the
    step's holders now. The event itself is built once its `occurred_at` is fixed (`event`)."""

    key: str
    assignee: str | None = None
    holders: frozenset[str] = frozenset()
    workflow: ActiveWorkflow | None = None
    step: WorkflowStep | None = None

    @property
    def event_id(self) -> str:
        return event_id(self.key, self.assignee)

    def event(self, config: RelayConfig, occurred_at: datetime | str) -> dict[str, Any]:
        when = occurred_at if isinstance(occurred_at, str) else iso(occurred_at)
        if self.assignee is None:
            return completed_event(config, self.key, when)
        if self.workflow is None or self.step is None:
            raise ValueError(f"announcement of {self.key} without its workflow and step")
        return assigned_event(config, self.workflow, self.step, self.assignee, when)

    def applied(self, known: dict[str, frozenset[str]]) -> None:
        """Record in `known` that the webhook has this event."""
        if self.assignee is None:
            known.pop(self.key, None)
        else:
            known[self.key] = (known.get(self.key, frozenset()) & self.holders) | {self.assignee}


def holders_of(step: WorkflowStep) -> frozenset[str]:
    """The step's holders in the one spelling the webhook reads (`ecm_user_id`: `ASmith` is
    `asmith`). A login the webhook would refuse (an invisible character, `#`) is left out and
    logged by pseudonym: posting it would be refused at every poll and never reach anyone."""
    holders: set[str] = set()
    for member in step.assignees:
        if not member.login.strip():
            continue
        try:
            holders.add(ecm_user_id(member.login))
        except ValueError as exc:
            log.warning("step %s: holder %s left out: %s", step.ref, who(member.login), exc)
    return frozenset(holders)


def announcements(
    known: Mapping[str, frozenset[str]], workflow: ActiveWorkflow, step: WorkflowStep
) -> list[Change]:
    """The step's holders it was not announced to yet, one change each (a group step: each
    member; a forwarded step: its new holder)."""
    key = step_key(step)
    holders = holders_of(step)
    return [
        Change(key, assignee, holders, workflow, step)
        for assignee in sorted(holders - known.get(key, frozenset()))
    ]


def changes(
    known: Mapping[str, frozenset[str]],
    running: Iterable[tuple[ActiveWorkflow, WorkflowStep]],
    unreadable: Iterable[str] = (),
) -> list[Change]:
    """Announcements for the running steps' holders not announced to yet, and completions for
    the steps in `known` that are no longer running (except those of workflows that could not be
    read now: nothing is concluded about them)."""
    out: list[Change] = []
    current: set[str] = set()
    for workflow, step in running:
        current.add(step_key(step))
        out.extend(announcements(known, workflow, step))
    skip = set(unreadable)
    for key in sorted(set(known) - current):
        if key.split("/")[0] not in skip:
            out.append(Change(key))
    return out
