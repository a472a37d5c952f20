"""Polls a queue and invokes its consumer with real SQS event records, then deletes only the
records the function did not list in `batchItemFailures`: Lambda's event source mapping. Like
the mapping, it runs as many batches at once as the function's concurrency allows (its
`MaximumConcurrency`: a poller thread each), so consumers are raced locally as in AWS."""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Mapping
from typing import Any

import boto3

from devstack.lambda_runtime import LocalFunction
from devstack.resources import REGION

log = logging.getLogger("devstack.sqs")


class SqsPoller:
    def __init__(
        self, queue_url: str, queue_arn: str, function: LocalFunction, batch_size: int = 10
    ):
        self._queue_url = queue_url
        self._queue_arn = queue_arn
        self._function = function
        self._batch_size = batch_size
        self._client = boto3.client("sqs", region_name=REGION)
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(
                target=self._run, name=f"sqs-{function.spec.logical_id}-{n}", daemon=True
            )
            for n in range(function.concurrency)
        ]

    def start(self) -> SqsPoller:
        for thread in self._threads:
            thread.start()
        return self

    def request_stop(self) -> None:
        self._stop.set()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            if thread.is_alive():
                thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.poll_once(wait_seconds=1)
            except Exception:
                log.exception("poller error")
                self._stop.wait(1)

    def poll_once(self, wait_seconds: int = 0) -> int:
        """Receive one batch and invoke the function with it; returns how many were received."""
        response = self._client.receive_message(
            QueueUrl=self._queue_url,
            MaxNumberOfMessages=self._batch_size,
            WaitTimeSeconds=wait_seconds,
            MessageSystemAttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        messages = response.get("Messages", [])
        if not messages:
            return 0
        event = {"Records": [self._record(m) for m in messages]}
        try:
            result = self._function.invoke(event) or {}
            failed = {f["itemIdentifier"] for f in result.get("batchItemFailures", [])}
        except Exception:
            log.exception("consumer raised: the whole batch returns to the queue")
            return len(messages)
        done = [m for m in messages if m["MessageId"] not in failed]
        if done:
            self._client.delete_message_batch(
                QueueUrl=self._queue_url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)
                ],
            )
        return len(messages)

    def _record(self, message: Mapping[str, Any]) -> dict[str, Any]:
        attributes = {
            key: {
                "stringValue": value.get("StringValue"),
                "binaryValue": value.get("BinaryValue"),
                "stringListValues": [],
                "binaryListValues": [],
                "dataType": value["DataType"],
            }
            for key, value in message.get("MessageAttributes", {}).items()
        }
        return {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": message["Body"],
            "attributes": message.get("Attributes", {}),
            "messageAttributes": attributes,
            "md5OfBody": message.get("MD5OfBody")
            or hashlib.md5(message["Body"].encode()).hexdigest(),  # noqa: S324 - SQS's own checksum
            "eventSource": "aws:sqs",
            "eventSourceARN": self._queue_arn,
            "awsRegion": REGION,
        }
