"""SQS consumer: one dispatch message per SQS message, failed ones reported individually.

A message that raises is returned in `batchItemFailures`, so only it comes back; a message to
retry (a transient FCM answer) comes back after a backoff from seconds (domain/backoff.py:
1-2 s, doubling, at least FCM's Retry-After), not after the queue's 180 s visibility timeout;
a message that never succeeds reaches the DLQ through the queue's redrive policy. Messages run
one after another: each is a delivery batch of a few hundred recipients that Dispatch already
sends in parallel, and the invocation's remaining time is its deadline (what it cannot reach
goes back as that message's failure, never killed half-written)."""

from __future__ import annotations

import random
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit, single_metric
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from ecmpush import bootstrap
from ecmpush.clock import NO_DEADLINE, Deadline
from ecmpush.domain.backoff import DISPATCH_RETRY
from ecmpush.domain.delivery.messages import WithdrawalMessage, dispatch_message_adapter
from ecmpush.entrypoints.observability import logger, metrics, tracer
from ecmpush.services.dispatch_report import DispatchReport, RetryLater
from ecmpush.settings import settings

# A batch whose every message failed is still a partial response, not a function error: a
# transient FCM outage should retry messages, not page the on-call through the Errors alarm.
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


class PoisonMessage(Exception):
    """The body is not a dispatch message; it fails until the redrive moves it to the DLQ."""


@tracer.capture_method
def record_handler(record: SQSRecord, lambda_context: LambdaContext | None = None) -> None:
    try:
        message = dispatch_message_adapter.validate_json(record.body)
    except ValidationError as exc:
        logger.error(
            "poison dispatch message",
            extra={
                "message_id": record.message_id,
                "errors": exc.errors(include_input=False, include_url=False),
            },
        )
        metrics.add_metric(name="PoisonMessages", unit=MetricUnit.Count, value=1)
        raise PoisonMessage(record.message_id) from None
    try:
        report = bootstrap.build_dispatch().handle(message, _deadline(lambda_context))
    except RetryLater as exc:
        metrics.add_metric(name="DispatchRetries", unit=MetricUnit.Count, value=1)
        if exc.report is not None:
            _count(exc.report)
        attempt = int(record.attributes.approximate_receive_count or 1)
        delay = DISPATCH_RETRY.seconds(attempt, exc.retry_after_seconds, rand=random.random())
        bootstrap.hold_back_message(settings().dispatch_queue_url, record.receipt_handle, delay)
        logger.warning(
            "dispatch retry",
            extra={
                "message_id": record.message_id,
                "reason": str(exc),
                "retry_after": exc.retry_after_seconds,
                "attempt": attempt,
                "delay": delay,
            },
        )
        raise
    _count(report)
    if isinstance(message, WithdrawalMessage) and report.withdrawn:
        _count_withdrawn(message.reason, report.withdrawn)
    logger.info("dispatched", extra={"message_id": record.message_id, "report": vars(report)})


def _deadline(context: LambdaContext | None) -> Deadline:
    """The invocation's end: Dispatch stops starting sends before Lambda would kill it."""
    if context is None:
        return NO_DEADLINE
    return Deadline(context.get_remaining_time_in_millis() / 1000)


def _count_withdrawn(reason: str, withdrawn: int) -> None:
    """Pushes withdrawn, per path that took the task away (the dashboard's withdrawal widget)."""
    with single_metric(
        name="PushesWithdrawn",
        unit=MetricUnit.Count,
        value=withdrawn,
        namespace=metrics.namespace,
    ) as metric:
        metric.add_dimension(name="reason", value=reason)


def _count(report: DispatchReport) -> None:
    if report.credentials_suspect:
        logger.error("FCM answered 'another project' for most tokens: check the service account")
    for name, value in (
        ("PushesSent", report.sent),
        ("PushesFailed", report.failed),
        ("TokensRemoved", report.removed),
        ("RecipientsWithoutDevice", report.no_device),
        ("FcmPlatformAuthErrors", report.platform_auth),
        ("FcmCredentialsSuspect", int(report.credentials_suspect)),
        ("DeliveryBatchesQueued", report.batches),
        ("DeliveriesUnreached", report.unreached),
        ("DeliveriesHeldForFcmPause", report.held),
        ("DispatchRequeued", report.requeued),
        ("GroupPagesQueued", report.group_pages),
        ("TeamGroupsRefused", report.groups_refused),
    ):
        if value:
            metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
