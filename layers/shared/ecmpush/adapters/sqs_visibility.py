"""Holds a received SQS message back for a while: how consumers honour a Retry-After (FCM, ECM)
or back off, instead of letting the queue's fixed visibility timeout decide."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mypy_boto3_sqs.client import SQSClient

MAX_VISIBILITY_SECONDS = 12 * 60 * 60  # SQS's limit


def delay_message(client: SQSClient, queue_url: str, receipt_handle: str, seconds: float) -> None:
    client.change_message_visibility(
        QueueUrl=queue_url,
        ReceiptHandle=receipt_handle,
        VisibilityTimeout=min(max(int(seconds), 0), MAX_VISIBILITY_SECONDS),
    )
