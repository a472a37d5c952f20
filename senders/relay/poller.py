"""One poll: read the running workflows of the watched maps and their current steps from
Content Server, post what changed, remember what the webhook took.

The state only moves for events the webhook answered `accepted`/`duplicate` (or refused for good),
so an outage of either side loses nothing: the next poll computes the same events again."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from ecmpush.domain.ecm import ActiveWorkflow, WorkflowStatus
from ecmpush.domain.ecm_errors import EcmError, EcmNotFound
from senders.relay import state
from senders.relay.assignments import changes
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


@dataclass
class PollReport:
    workflows: int = 0
    sent: int = 0
    refused: int = 0
    pending: int = 0  # to be sent again next poll
    unreadable: list[str] = field(default_factory=list)


def poll(
    config: RelayConfig,
    ecm: RunningWorkflows,
    deliver: Deliver,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> PollReport:
    report = PollReport()
    known = state.load(config.state_file)
    map_ids: list[int | None] = list(config.maps) or [None]
    running: list[tuple[ActiveWorkflow, WorkflowStatus]] = []
    for map_id in map_ids:
        for workflow in ecm.active_workflows(map_id=map_id):
            try:
                running.append((workflow, ecm.workflow_status(workflow.process_id)))
            except EcmNotFound:
                continue  # finished between the two calls: its steps count as done
            except EcmError as exc:
                # Not readable now: keep what we know of it, announce nothing for it.
                log.warning("workflow %s not readable: %s", workflow.process_id, exc)
                report.unreadable.append(workflow.process_id)
    report.workflows = len(running)
    unreadable = set(report.unreadable)
    pending = [
        c for c in changes(config, known, running, now()) if c.key.split("/")[0] not in unreadable
    ]
    outcome = deliver([c.event for c in pending]) if pending else {}
    for change in pending:
        status = outcome.get(change.event["id"], "missing")
        if status in DONE or status in REFUSED:
            if status in REFUSED:
                report.refused += 1
                log.error("webhook refused %s (%s)", change.event["id"], status)
            else:
                report.sent += 1
            change.applied(known)
        else:
            report.pending += 1
    state.save(config.state_file, known)
    return report
