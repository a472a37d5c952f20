"""The transient_retry measurement in a process of its own (it sets the AWS environment):
`python -m bench._retry_child <json>` prints one JSON line.

What it builds: bench/_dispatch_stack.py's stack (DispatchQueue keeps the template's 180 s
visibility timeout; faults are set on the in-process FCM stand-in directly) with one registered
Android device. For each case, a `task.assigned` for the device's owner goes on the
dispatch queue while the stand-in answers the device's first sends UNAVAILABLE (with or
without Retry-After); measured is the time from FCM's first transient answer to the push FCM
accepts, read from the stand-in's own record of both requests.

`before` replays the design before the backoff: a record handed back without Retry-After
kept its visibility timeout (Dispatch did not change it), which this case reproduces by
making the handler's hold-back a no-op when there is no Retry-After."""

from __future__ import annotations

import json
import sys
import time
from typing import Any

import bench  # noqa: F401  (puts the layer on sys.path)
from bench._dispatch_stack import dispatch_stack, received
from bench._fixtures import task_event

OWNER = "asmith"  # the sample event's assignee
TOKEN = "fcm-bench-000000-" + "x" * 140  # what _seed registers for the first user


def measure(params: dict[str, Any]) -> dict[str, Any]:
    cases: list[dict[str, Any]] = params["cases"]
    with dispatch_stack("retry-", [OWNER]) as stack:
        fcm, poller, queue, sqs = stack.fcm, stack.poller, stack.queue, stack.sqs
        bootstrap = stack.bootstrap
        real_hold = bootstrap.hold_back_message
        visibility = int(
            sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["VisibilityTimeout"])[
                "Attributes"
            ]["VisibilityTimeout"]
        )
        results: list[dict[str, Any]] = []
        for n, case in enumerate(cases):
            fcm.reset()
            as_before = case.get("design") == "before" and not case.get("retry_after")

            def hold(url: str, handle: str, seconds: float, *, keep: bool = as_before) -> None:
                if keep:
                    return  # as before: the record keeps the queue's visibility timeout
                real_hold(url, handle, seconds)

            bootstrap.hold_back_message = hold
            fcm.add_fault(
                "UNAVAILABLE",
                match_token=TOKEN,
                times=int(case["answers"]),
                retry_after=case.get("retry_after"),
            )
            event = task_event(event_id=f"evt-bench-retry-{n:03d}")
            sqs.send_message(
                QueueUrl=queue, MessageBody=json.dumps({"kind": "event", "event": event})
            )
            limit = time.monotonic() + visibility + 60
            delivered: list[dict[str, Any]] = []
            while time.monotonic() < limit and not delivered:
                poller.poll_once(wait_seconds=1)
                records = fcm.messages(TOKEN)
                delivered = [r for r in records if r["answer"]["status"] == 200]
            records = fcm.messages(TOKEN)
            transient = [r for r in records if r["answer"]["status"] == 503]
            if not delivered or not transient:
                raise RuntimeError(f"case {case} did not deliver: {records}")
            results.append(
                {
                    **case,
                    "transient_answers": len(transient),
                    "seconds_to_push": round(received(delivered[0]) - received(transient[0]), 3),
                }
            )
        bootstrap.hold_back_message = real_hold
        return {"visibility_timeout_s": visibility, "runs": results}


if __name__ == "__main__":
    print(json.dumps(measure(json.loads(sys.argv[1]))), flush=True)
