"""Scheduled SLA sweep (EventBridge Scheduler, `SlaSweepSchedule`): reminds assignees of overdue
workflow tasks and escalates to supervisor/backup after the grace (services/sla_sweep.py).

The schedule's input is `{"now": "<aws.scheduler.scheduled-time>"}`, so a retried or late
invocation sweeps as of the time it was meant for; without `now` (a manual invoke) the wall
clock is used. An invalid `now` fails the invocation (Scheduler retries, then its DLQ)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import TypeAdapter

from ecmpush.clock import utc_now
from ecmpush.domain.events import Timestamp
from ecmpush.observability import logger, metrics, tracer
from ecmpush.sweeps_sla import sla_sweep_service

_timestamp: TypeAdapter[datetime] = TypeAdapter(Timestamp)

COUNTS = ("examined", "notified", "skipped", "unchecked", "closed")


def sweep_time(event: dict[str, Any]) -> datetime:
    raw = event.get("now")
    return _timestamp.validate_python(raw) if raw else utc_now()


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    now = sweep_time(event)
    report = sla_sweep_service().run(now, context.get_remaining_time_in_millis)
    for name in COUNTS:
        metrics.add_metric(
            name=f"SlaSweep{name.capitalize()}", unit=MetricUnit.Count, value=getattr(report, name)
        )
    if not report.complete:
        metrics.add_metric(name="SlaSweepIncomplete", unit=MetricUnit.Count, value=1)
    result = {"now": now.isoformat().replace("+00:00", "Z"), **report.as_dict()}
    if report.problems:
        logger.warning("SLA sweep: tasks not checked in Content Server", extra=result)
    else:
        logger.info("SLA sweep done", extra=result)
    return result
