"""What every scheduled function shares: the time it runs as, and how a run is reported.

The schedules' input is `{"now": "<aws.scheduler.scheduled-time>"}`, so a retried or late
invocation works as of the time it was meant for; without `now` (a manual invoke) the wall clock
is used. An invalid `now` fails the invocation (Scheduler retries, then its DLQ)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from pydantic import TypeAdapter

from ecmpush.clock import rfc3339, utc_now
from ecmpush.domain.intake.events import Timestamp
from ecmpush.entrypoints.observability import logger, metrics

_timestamp: TypeAdapter[datetime] = TypeAdapter(Timestamp)


def scheduled_time(event: Any) -> datetime:
    raw = event.get("now") if isinstance(event, dict) else None
    return _timestamp.validate_python(raw).astimezone(UTC) if raw else utc_now()


def report_run(
    name: str, now: datetime, counts: Mapping[str, int], complete: bool, details: dict[str, Any]
) -> dict[str, Any]:
    """One metric per count (`<name><Count>`), `<name>Incomplete` when the run stopped early
    (the next run continues), one log line, and the invocation's result."""
    for count, value in counts.items():
        metrics.add_metric(name=f"{name}{count}", unit=MetricUnit.Count, value=value)
    if not complete:
        metrics.add_metric(name=f"{name}Incomplete", unit=MetricUnit.Count, value=1)
    result = {"now": rfc3339(now), **details}
    logger.info(name, extra={"report": result})
    return result
