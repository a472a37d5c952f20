"""Scheduled expiry sweep (EventBridge Scheduler, `ExpirySweepSchedule`): warns owners and
roles of records entering a warning window (services/expiry_sweep.py)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from ecmpush import bootstrap
from ecmpush.entrypoints.observability import logger, metrics, tracer
from ecmpush.entrypoints.scheduled import report_run, scheduled_time


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    now = scheduled_time(event)
    report = bootstrap.build_expiry_sweep().run(now, context.get_remaining_time_in_millis)
    counts = {
        "RecordsExamined": report.examined,
        "RecordsNotified": report.notified,
        "RecordsSkipped": report.skipped,
        "RecordsUnchecked": report.unchecked,
        "NotificationsEnqueued": report.notifications,
        "RecordsIngested": report.ingested,
        "SearchSkipped": int(report.search in ("unavailable", "failed", "partial")),
    }
    complete = report.complete or report.busy  # busy: another run holds the lease
    return report_run("ExpirySweep", now, counts, complete, report.as_dict())
