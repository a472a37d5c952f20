"""Scheduled device prune (EventBridge Scheduler, `DevicePruneSchedule`): removes devices whose
registration was not refreshed for `DeviceStaleDays` (services/device_prune.py), so pushes stop
going to tokens FCM has long given up on."""

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
    report = bootstrap.build_device_prune().run(now, context.get_remaining_time_in_millis)
    counts = {"Examined": report.examined, "Pruned": report.pruned, "Skipped": report.skipped}
    return report_run("StaleDevices", now, counts, report.complete, report.as_dict())
