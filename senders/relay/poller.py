"""Reading Content Server and posting what it says, for both ways the relay learns of a step:

- `poll`: every running workflow of the watched maps and its current steps;
- `announce`: one step named by its ids (`POST /steps` of the `forward` listener, called by a
  WebReport or a workflow event script when the step becomes ready).

Both read the same REST routes (`GET /api/v2/workflows/status/active?mapObjId=` for the
workflow's row, `GET /api/v2/workflows/status/processes/{id}` for its steps), decide with the
same functions (`assignments.py`) and go through one path (`_send`) that fixes each event's
`occurred_at` in the shared state before posting and records the webhook's answers after, so
whichever of the two posts a step second posts the same bytes and is answered `duplicate`.

The state only records an event as delivered once the webhook answered `accepted`/`duplicate`
(or refused it for good), so an outage of either side loses nothing: the next poll, or the event
script's retry, sends the same event again."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from ecmpush.domain.ecm.errors import EcmError, EcmNotFound
from ecmpush.domain.ecm.model import ActiveWorkflow, WorkflowStatus, WorkflowStep
from ecmpush.domain.ecm.task_ref import TaskRef
from ecmpush.privacy import who
from senders.relay import state
from senders.relay.assignments import Change, announcements, changes, event_id, iso, step_key
from senders.relay.config import RelayConfig
from senders.relay.webhook import DONE, REFUSED

log = logging.getLogger(__name__)


class RunningWorkflows(Protocol):
    def active_workflows(
        self, *, map_id: int | str | None = None, budget_s: float | None = None
    ) -> list[ActiveWorkflow]: ...

    def workflow_status(
        self, process_id: str | int, *, budget_s: float | None = None
    ) -> WorkflowStatus: ...


Deliver = Callable[[Sequence[Mapping[str, Any]]], dict[str, str]]
Clock = Callable[[], datetime]


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class PollReport:
    workflows: int = 0
    sent: int = 0
    refused: int = 0
    pending: int = 0  # to be sent again next poll
    unreadable: list[str] = field(default_factory=list)


def _watched(config: RelayConfig) -> list[int | None]:
    return list(config.maps) or [None]


def _row_for(rows: Sequence[ActiveWorkflow], step: WorkflowStep) -> ActiveWorkflow:
    """The active-workflows row a step belongs to: its subprocess's, else the process's own."""
    for wanted in (step.ref.subprocess_id, step.ref.process_id):
        for row in rows:
            if row.subprocess_id == wanted:
                return row
    return rows[0]


def _steps(
    rows: Sequence[ActiveWorkflow], status: WorkflowStatus
) -> list[tuple[ActiveWorkflow, WorkflowStep]]:
    return [(_row_for(rows, step), step) for step in status.current]


def _send(
    config: RelayConfig,
    pick: Callable[[Mapping[str, frozenset[str]]], list[Change]],
    deliver: Deliver,
    now: datetime,
    *,
    store: state.StateStore,
    forget: Callable[[str, str], bool] = lambda _id, _at: False,
) -> tuple[list[Change], dict[str, str]]:
    """The one way events leave the relay. Under the state's lock: `pick` the changes not yet
    delivered and fix each event's `occurred_at` (the one already in `seen`, else `now`). Then
    post, unlocked. Then, locked again, record what the webhook took on the state as it is now
    (the other sender may have moved it meanwhile) and drop the `seen` entries `forget` names
    (by event id and `occurred_at`; never one of these changes').
    Returns the changes and each one's answer."""
    with store.locked():
        current = store.load()
        pending = pick(current.known)
        stamp = {c.event_id: current.seen.setdefault(c.event_id, iso(now)) for c in pending}
        if pending:
            store.save(current)
    events = [c.event(config, stamp[c.event_id]) for c in pending]
    outcome = deliver(events) if events else {}
    with store.locked():
        current = store.load()
        for change in pending:
            if outcome.get(change.event_id, "missing") in DONE | REFUSED:
                change.applied(current.known)
                current.seen.pop(change.event_id, None)
        for stale in [k for k, at in current.seen.items() if k not in stamp and forget(k, at)]:
            del current.seen[stale]
        store.save(current)
    return pending, outcome


def poll(
    config: RelayConfig,
    ecm: RunningWorkflows,
    deliver: Deliver,
    now: Clock = _utcnow,
    *,
    store: state.StateStore | None = None,
) -> PollReport:
    """One poll; the state in `store` (default: the configuration's `state_file`)."""
    store = store or state.FileStateStore(config.state_file)
    report = PollReport()
    started = now()
    rows: dict[str, list[ActiveWorkflow]] = defaultdict(list)
    for map_id in _watched(config):
        for workflow in ecm.active_workflows(map_id=map_id):
            rows[workflow.process_id].append(workflow)  # a row per running (sub)process
    running: list[tuple[ActiveWorkflow, WorkflowStep]] = []
    for process_id, process_rows in rows.items():
        try:
            running.extend(_steps(process_rows, ecm.workflow_status(process_id)))
            report.workflows += 1
        except EcmNotFound:
            continue  # finished between the two calls: its steps count as done
        except EcmError as exc:
            # Not readable now: keep what we know of it, announce nothing for it.
            log.warning("workflow %s not readable: %s", process_id, exc)
            report.unreadable.append(process_id)
    current = {event_id(step_key(step), m) for _, step in running for m in _logins(step)}
    unreadable = set(report.unreadable)

    since = iso(started)

    def forget(seen_id: str, occurred_at: str) -> bool:
        """An event fixed before this poll read Content Server whose step this poll did not find
        current for that holder (finished, or handed on, before the webhook took it), unless its
        workflow could not be read. Newer ones may be an announce's that this poll missed."""
        process_id = seen_id.split("-")[1] if seen_id.count("-") >= 4 else ""
        return occurred_at < since and seen_id not in current and process_id not in unreadable

    pending, outcome = _send(
        config,
        lambda known: changes(known, running, unreadable),
        deliver,
        started,
        store=store,
        forget=forget,
    )
    for change in pending:
        status = outcome.get(change.event_id, "missing")
        if status in REFUSED:
            report.refused += 1
            log.error(
                "webhook refused %s (%s): step %s, holder %s",
                change.event_id,
                status,
                change.key,
                who(change.assignee),
            )
        elif status in DONE:
            report.sent += 1
        else:
            report.pending += 1
    return report


def _logins(step: WorkflowStep) -> list[str]:
    return [m.login for m in step.assignees if m.login.strip()]


# -- announce: one step by its ids -----------------------------------------------------------

ANNOUNCE_BUDGET_S = 8.0  # the caller (an event script, a WebReport) waits for the answer


@dataclass
class Announcement:
    """What announcing one step did. `status`: `accepted` (at least one holder's event is new),
    `duplicate` (every holder had it: from the state, or the webhook said so), `pending` (the
    webhook did not take it now: retry), `refused` (the webhook refused it for good),
    `not_current` (the step is done), `unknown_step` (Content Server knows no such step, or it
    is not ready yet), `not_watched` (its workflow map is not in the relay's `maps`),
    `no_holder` (the step is current but names nobody)."""

    status: str
    step: str
    events: list[dict[str, str]] = field(default_factory=list)


def _overall(statuses: Iterable[str]) -> str:
    seen = set(statuses)
    if seen - DONE - REFUSED:
        return "pending"
    if seen & REFUSED:
        return "refused"
    return "accepted" if "accepted" in seen else "duplicate"


def announce(
    config: RelayConfig,
    ecm: RunningWorkflows,
    ref: TaskRef,
    deliver: Deliver,
    now: Clock = _utcnow,
) -> Announcement:
    """Read the step from Content Server as `poll` reads it and post its announcements.
    `EcmError`s other than an unknown process propagate: nothing was recorded, the caller may
    retry. A step `known` to the state is answered `duplicate` without posting."""
    key = str(ref)
    try:
        status = ecm.workflow_status(ref.process_id, budget_s=ANNOUNCE_BUDGET_S)
    except EcmNotFound:
        return Announcement("unknown_step", key)
    step = status.current_step(ref)
    if step is None:
        done = any(s.ref == ref for s in status.completed)
        return Announcement("not_current" if done else "unknown_step", key)
    rows = [
        row
        for map_id in _watched(config)
        for row in ecm.active_workflows(map_id=map_id, budget_s=ANNOUNCE_BUDGET_S)
        if row.process_id == ref.process_id
    ]
    if not rows:
        return Announcement("not_watched", key)
    workflow = _row_for(rows, step)
    holders = _logins(step)
    if not holders:
        return Announcement("no_holder", key)
    pending, outcome = _send(
        config,
        lambda known: announcements(known, workflow, step),
        deliver,
        now(),
        store=state.FileStateStore(config.state_file),
    )
    statuses = dict.fromkeys(holders, "duplicate")  # already delivered, per the state
    statuses.update({c.assignee or "": outcome.get(c.event_id, "missing") for c in pending})
    events = [
        {"id": event_id(key, login), "assignee": login, "status": statuses[login]}
        for login in sorted(statuses)
    ]
    return Announcement(_overall(statuses.values()), key, events)
