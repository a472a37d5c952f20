"""Puts messages on a queue: one JSON document each, with `kind` and `type` attributes so a DLQ
can be triaged without parsing bodies.

`publish_all` packs messages into `SendMessageBatch` calls of at most 10 entries and 256 KiB
(the limit counts bodies and attributes of the whole call), and resends what a call reports as
failed: a fan-out that silently dropped a batch would lose a part of the audience."""

from __future__ import annotations

import random
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import boto3
from pydantic import BaseModel

from ecmpush.domain.backoff import AWS_BATCH_RETRY
from ecmpush.domain.delivery.messages import EventMessage, NotificationMessage

if TYPE_CHECKING:
    from mypy_boto3_sqs.client import SQSClient

MAX_BATCH_ENTRIES = 10
MAX_BATCH_BYTES = 256 * 1024
_PATIENCE = 5


class NotQueued(Exception):
    """SQS kept refusing some entries of a batch; the caller's unit of work is retried."""


@dataclass(frozen=True)
class _Entry:
    """One message as SendMessageBatch takes it, encoded once; `size` is what it counts against
    SQS's limit: body plus attribute names, types and values."""

    body: str
    attributes: dict[str, str]

    @classmethod
    def of(cls, message: BaseModel) -> _Entry:
        return cls(message.model_dump_json(), _attributes(message))

    @property
    def size(self) -> int:
        return len(self.body.encode()) + sum(
            len(name.encode()) + len(b"String") + len(value.encode())
            for name, value in self.attributes.items()
        )

    def wire(self, entry_id: str) -> dict[str, Any]:
        return {
            "Id": entry_id,
            "MessageBody": self.body,
            "MessageAttributes": _wire(self.attributes),
        }


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
            MessageAttributes=_wire(_attributes(message)),
        )
        return response["MessageId"]

    def publish_all(self, messages: Sequence[BaseModel]) -> int:
        calls = 0
        for batch in _packed([_Entry.of(m) for m in messages]):
            entries = {str(i): entry.wire(str(i)) for i, entry in enumerate(batch)}
            for attempt in range(_PATIENCE + 1):
                calls += 1
                answer = self._client.send_message_batch(
                    QueueUrl=self._queue_url,
                    Entries=list(entries.values()),  # type: ignore[arg-type]
                )
                failed = answer.get("Failed") or []
                if not failed:
                    break
                if attempt == _PATIENCE or any(f.get("SenderFault") for f in failed):
                    codes = sorted({str(f.get("Code")) for f in failed})
                    raise NotQueued(f"{len(failed)} messages not queued: {', '.join(codes)}")
                entries = {f["Id"]: entries[f["Id"]] for f in failed}
                time.sleep(AWS_BATCH_RETRY.seconds(attempt + 1, rand=random.random()))
        return calls


def _wire(attributes: dict[str, str]) -> dict[str, Any]:
    return {
        name: {"DataType": "String", "StringValue": value} for name, value in attributes.items()
    }


def _packed(entries: Sequence[_Entry]) -> list[list[_Entry]]:
    """Consecutive groups within SendMessageBatch's entry and size limits."""
    batches: list[list[_Entry]] = []
    current: list[_Entry] = []
    size = 0
    for message in entries:
        message_size = message.size
        if message_size > MAX_BATCH_BYTES:
            raise ValueError(f"a {message_size}-byte message exceeds SQS's limit")
        if current and (len(current) == MAX_BATCH_ENTRIES or size + message_size > MAX_BATCH_BYTES):
            batches.append(current)
            current, size = [], 0
        current.append(message)
        size += message_size
    if current:
        batches.append(current)
    return batches
