"""The withdrawal measurement in a process of its own (it sets the AWS environment):
`python -m bench._withdrawal_child <json>` prints one JSON line.

What it builds, as bench/_retry_child.py does: a moto server with the template's queues and
tables, the FCM stand-in in this process, one registered Android device per member of a group
step, and the template's Dispatch handler drained by devstack's SQS poller (1 s long polls).
Each run: the step's assignment reaches every member (one notification each, as the relay
announces a group step), then the decision's `WithdrawalMessage` goes on the dispatch queue as
the write-back puts it there; measured is the time from that publish to the last withdrawal FCM
accepted (the stand-in's own record), and the DynamoDB and FCM calls the handler made."""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import bench  # noqa: F401  (puts the layer on sys.path)
from bench._common import REPO
from bench._fanout_child import _seed, _start_moto, _warm_dispatch
from bench._fixtures import notification_for, task_event


def _received(record: dict[str, Any]) -> float:
    return dt.datetime.fromisoformat(record["received_at"]).timestamp()


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
    state_dir = Path(tempfile.mkdtemp(prefix="withdrawal-"))
    moto, moto_url = _start_moto(str(REPO))
    try:
        os.environ.update(
            {
                "AWS_ENDPOINT_URL": moto_url,
                "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": "testing",
                "AWS_SESSION_TOKEN": "testing",
            }
        )
        from devstack import template as cfn
        from devstack.fcm_standin import start_fcm_standin
        from devstack.identity import LocalIdentity
        from devstack.lambda_runtime import LocalFunction
        from devstack.resources import REGION, provision
        from devstack.sqs_poller import SqsPoller
        from devstack.stack import function_environment, local_ecm_credentials

        os.environ["AWS_DEFAULT_REGION"] = os.environ["AWS_REGION"] = REGION
        identity = LocalIdentity.load_or_create(state_dir)
        fcm = start_fcm_standin(identity)
        template = cfn.load()
        provisioned = provision(
            template,
            secret_values={
                "WebhookSecret": "bench-webhook-secret",
                "FirebaseServiceAccountSecret": json.dumps(
                    identity.service_account_info(fcm.token_uri)
                ),
                "ActionTokenKeySecret": "bench-action-token-key",
                "EcmCredentialsSecret": json.dumps(local_ecm_credentials("http://127.0.0.1:9")),
            },
            parameters={
                "AppBaseUrl": "https://app.bench",
                "EcmBaseUrl": "http://127.0.0.1:9",
                "FirebaseProjectId": identity.project_id,
            },
        )
        os.environ.update(function_environment(template, provisioned, fcm.url))
        for name in ("POWERTOOLS_LOG_LEVEL", "LOG_LEVEL"):
            os.environ[name] = "ERROR"
        os.environ["POWERTOOLS_METRICS_NAMESPACE"] = "bench"
        import boto3

        from ecmpush import bootstrap
        from ecmpush.domain.delivery.messages import NotificationMessage, WithdrawalMessage
        from ecmpush.domain.delivery.notifications import notification_id
        from ecmpush.domain.delivery.withdrawal import Decision
        from ecmpush.domain.ecm.task_ref import TaskRef

        bootstrap.reset()
        users = [f"member-{n:04d}" for n in range(members)]
        _seed(provisioned, users)
        function = LocalFunction(cfn.functions(template)["DispatchFunction"])
        queue = provisioned.refs["DispatchQueue"]
        poller = SqsPoller(queue, provisioned.arns["DispatchQueue"], function)
        sqs = boto3.client("sqs")
        _warm_dispatch(bootstrap)
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
                        max(_received(r) for r in reached) - published, 3
                    ),
                    "seconds_to_first_device": round(
                        min(_received(r) for r in reached) - published, 3
                    ),
                }
            )
        fcm.stop()
        return {"runs": results}
    finally:
        assert moto.stdin is not None
        moto.stdin.close()
        moto.wait(timeout=20)


if __name__ == "__main__":
    print(json.dumps(measure(json.loads(sys.argv[1]))), flush=True)
