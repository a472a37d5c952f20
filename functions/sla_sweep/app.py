"""Scheduled SLA sweep (EventBridge Scheduler, `SlaSweepSchedule`): reminds assignees of overdue
workflow tasks and escalates to supervisor/backup after the grace, reminds of and escalates
pushes nobody looked at, and brings snoozed pushes back (services/sla_sweep.py)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from ecmpush import bootstrap
from ecmpush.entrypoints.observability import logger, metrics, tracer
from ecmpush.entrypoints.scheduled import report_run, scheduled_time

COUNTS = ("examined", "notified", "skipped", "unchecked", "closed")
# Not seen → the next person and snooze (docs/design/not-seen.md): metric suffix → report field.
NOT_SEEN_COUNTS = {
    "NotSeenReminders": "not_seen_reminders",
    "NotSeenEscalations": "not_seen_escalations",
    "Seen": "seen",
    "Snoozed": "snoozed",
}


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    now = scheduled_time(event)
    report = bootstrap.build_sla_sweep().run(now, context.get_remaining_time_in_millis)
    counts = {name.capitalize(): getattr(report, name) for name in COUNTS}
    counts |= {metric: getattr(report, name) for metric, name in NOT_SEEN_COUNTS.items()}
    result = report_run("SlaSweep", now, counts, report.complete, report.as_dict())
    if report.problems:
        logger.warning("SLA sweep: tasks not checked in Content Server", extra=result)
    return result
