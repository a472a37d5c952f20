"""SQS consumer of queued replies: applies each to Content Server with the time this invocation
has left, backing off exponentially while ECM is down. A reply that never succeeds reaches the
write-back DLQ (alarmed), from which it can be redriven once ECM or the configuration is fixed."""

from __future__ import annotations

import random
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from ecmpush import bootstrap
from ecmpush.domain.ecm.errors import EcmUnavailable
from ecmpush.domain.replies.write_back import Reply, backoff_seconds
from ecmpush.entrypoints.observability import logger, metrics, tracer
from ecmpush.settings import settings

processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)

SAFETY_MARGIN_S = 5.0  # kept back from the invocation's time to save the reply's status


@tracer.capture_method
def record_handler(record: SQSRecord, lambda_context: LambdaContext) -> None:
    reply = Reply.model_validate_json(record.body)
    budget = lambda_context.get_remaining_time_in_millis() / 1000 - SAFETY_MARGIN_S
    try:
        status = bootstrap.build_write_back().apply(reply, max(budget, 1.0))
    except EcmUnavailable as exc:
        attempts = int(record.attributes.approximate_receive_count or 1)
        bootstrap.hold_back_message(
            settings().writeback_queue_url,
            record.receipt_handle,
            backoff_seconds(attempts, exc.retry_after, rand=random.random()),
        )
        metrics.add_metric(name="WriteBackDeferred", unit=MetricUnit.Count, value=1)
        logger.warning(
            "ECM unavailable; reply stays queued",
            extra={"response_id": reply.response_id, "attempt": attempts},
        )
        raise
    metrics.add_metric(name=f"WriteBack_{status.value}", unit=MetricUnit.Count, value=1)
    logger.info("reply applied", extra={"response_id": reply.response_id, "outcome": status.value})


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
