"""Puts messages on a queue: one JSON document each, with `kind` and `type` attributes so a DLQ
can be triaged without parsing bodies."""

from __future__ import annotations

from typing import TYPE_CHECKING

import boto3
from pydantic import BaseModel

from ecmpush.domain.messages import EventMessage, NotificationMessage

if TYPE_CHECKING:
    from mypy_boto3_sqs.client import SQSClient


def _attributes(message: BaseModel) -> dict[str, str]:
    if isinstance(message, EventMessage):
        return {"kind": message.kind, "type": message.event.type}
    if isinstance(message, NotificationMessage):
        return {"kind": message.kind, "type": message.notification.type}
    return {"kind": type(message).__name__}


class SqsPublisher:
    def __init__(self, queue_url: str, client: SQSClient | None = None) -> None:
        self._queue_url = queue_url
        self._client = client or boto3.client("sqs")

    def publish(self, message: BaseModel, delay_seconds: int = 0) -> str:
        response = self._client.send_message(
            QueueUrl=self._queue_url,
            DelaySeconds=delay_seconds,
            MessageBody=message.model_dump_json(),
            MessageAttributes={
                name: {"DataType": "String", "StringValue": value}
                for name, value in _attributes(message).items()
            },
        )
        return response["MessageId"]
