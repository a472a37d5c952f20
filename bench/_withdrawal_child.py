"""The withdrawal measurement in a process of its own (it sets the AWS environment):
`python -m bench._withdrawal_child <json>` prints one JSON line.

What it builds: bench/_dispatch_stack.py's stack with one registered Android device per member
of a group step.
Each run: the step's assignment reaches every member (one notification each, as the relay
announces a group step), then the decision's `WithdrawalMessage` goes on the dispatch queue as
the write-back puts it there; measured is the time from that publish to the last withdrawal FCM
accepted (the stand-in's own record), and the DynamoDB and FCM calls the handler made."""

from __future__ import annotations

import datetime as dt
import json
import sys
import time
from typing import Any

import bench  # noqa: F401  (puts the layer on sys.path)
from bench._dispatch_stack import dispatch_stack, received
from bench._fixtures import notification_for, task_event
from ecmpush.domain.delivery.messages import NotificationMessage, WithdrawalMessage
from ecmpush.domain.delivery.notifications import notification_id
from ecmpush.domain.delivery.withdrawal import Decision
from ecmpush.domain.ecm.task_ref import TaskRef


def _drain(poller: Any, fcm: Any, done: Any, limit_s: float) -> None:
    limit = time.monotonic() + limit_s
    while time.monotonic() < limit:
        poller.poll_once(wait_seconds=1)
        if done(fcm.messages()):
            return
    raise RuntimeError("the queue did not deliver in time")


def measure(params: dict[str, Any]) -> dict[str, Any]:
    members: int = params["members"]
    runs: int = params["runs"]
    users = [f"member-{n:04d}" for n in range(members)]
    with dispatch_stack("withdrawal-", users) as stack:
        fcm, poller, queue, sqs = stack.fcm, stack.poller, stack.queue, stack.sqs
        results: list[dict[str, Any]] = []
        for run in range(runs):
            fcm.reset()
            task = TaskRef(process_id=str(9000 + run), subprocess_id=str(9000 + run), task_id="1")
            base = notification_for(task_event(event_id=f"evt-bench-withdraw-{run}"))
            assert base.task is not None
            step = base.task.model_copy(update=task.model_dump())
            for n, user in enumerate(users):
                nid = notification_id(f"evt-bench-withdraw-{run}-{n}", "task.assigned")
                assigned = base.model_copy(update={"id": nid, "recipients": [user], "task": step})
                sqs.send_message(
                    QueueUrl=queue,
                    MessageBody=NotificationMessage(notification=assigned).model_dump_json(),
                )
            _drain(poller, fcm, lambda records: len(records) >= members, 300)
            decision = Decision(
                by=users[0], action="approve", platform="android", at=dt.datetime.now(dt.UTC)
            )
            message = WithdrawalMessage(task=task, reason="replied", decision=decision)
            published = time.time()
            sqs.send_message(QueueUrl=queue, MessageBody=message.model_dump_json())

            def withdrawn(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
                return [
                    r
                    for r in records
                    if r["message"].get("data", {}).get("type") == "withdrawn"
                    and r["answer"]["status"] == 200
                ]

            _drain(poller, fcm, lambda records: len(withdrawn(records)) >= members, 300)
            reached = withdrawn(fcm.messages())
            tokens = {r["target"] for r in reached}
            results.append(
                {
                    "members": members,
                    "withdrawals": len(reached),
                    "devices_reached": len(tokens),
                    "seconds_to_last_device": round(
                        max(received(r) for r in reached) - published, 3
                    ),
                    "seconds_to_first_device": round(
                        min(received(r) for r in reached) - published, 3
                    ),
                }
            )
        return {"runs": results}


if __name__ == "__main__":
    print(json.dumps(measure(json.loads(sys.argv[1]))), flush=True)
