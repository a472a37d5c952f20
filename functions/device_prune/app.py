"""Scheduled device prune (EventBridge Scheduler, `DevicePruneSchedule`): removes devices whose
registration was not refreshed for `DeviceStaleDays` (services/device_prune.py), so pushes stop
going to tokens FCM has long given up on.

The schedule's input is `{"now": "<aws.scheduler.scheduled-time>"}`, so a retried or late
invocation prunes as of the time it was meant for; without `now` (a manual invoke) the wall
clock is used. An invalid `now` fails the invocation (Scheduler retries, then its DLQ)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import TypeAdapter

from ecmpush.clock import utc_now
from ecmpush.domain.events import Timestamp
from ecmpush.observability import logger, metrics, tracer
from ecmpush.sweeps_devices import device_prune_service

_timestamp: TypeAdapter[datetime] = TypeAdapter(Timestamp)


def sweep_time(event: dict[str, Any]) -> datetime:
    raw = event.get("now") if isinstance(event, dict) else None
    return _timestamp.validate_python(raw).astimezone(UTC) if raw else utc_now()


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    now = sweep_time(event)
    report = device_prune_service().run(now, context.get_remaining_time_in_millis)
    for name, value in (
        ("StaleDevicesExamined", report.examined),
        ("StaleDevicesPruned", report.pruned),
        ("StaleDevicesSkipped", report.skipped),
    ):
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)
    if not report.complete:
        metrics.add_metric(name="DevicePruneIncomplete", unit=MetricUnit.Count, value=1)
    result = {"now": now.isoformat().replace("+00:00", "Z"), **report.as_dict()}
    logger.info("device prune", extra={"report": result})
    return result
