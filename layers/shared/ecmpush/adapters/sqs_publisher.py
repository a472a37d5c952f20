"""Puts dispatch messages on the queue; one JSON document per message, type in an attribute so
a DLQ can be triaged without parsing bodies."""

from __future__ import annotations

from typing import TYPE_CHECKING

import boto3

from ecmpush.domain.messages import DispatchMessage, EventMessage

if TYPE_CHECKING:
    from mypy_boto3_sqs.client import SQSClient


class SqsPublisher:
    def __init__(self, queue_url: str, client: SQSClient | None = None) -> None:
        self._queue_url = queue_url
        self._client = client or boto3.client("sqs")

    def publish(self, message: DispatchMessage) -> str:
        label = (
            message.event.type if isinstance(message, EventMessage) else message.notification.type
        )
        response = self._client.send_message(
            QueueUrl=self._queue_url,
            MessageBody=message.model_dump_json(),
            MessageAttributes={
                "kind": {"DataType": "String", "StringValue": message.kind},
                "type": {"DataType": "String", "StringValue": label},
            },
        )
        return response["MessageId"]
