"""The transient_retry measurement in a process of its own (it sets the AWS environment):
`python -m bench._retry_child <json>` prints one JSON line.

What it builds: a moto server (its own process, bench/_fanout_child.py's) with the template's
queues and tables (DispatchQueue keeps the template's 180 s visibility timeout), the FCM
stand-in in this process (faults are set on it directly), one registered Android device, and
the template's Dispatch handler drained by devstack's SQS poller with 1 s long polls, as the
event source mapping would. For each case, a `task.assigned` for the device's owner goes on the
dispatch queue while the stand-in answers the device's first sends UNAVAILABLE (with or
without Retry-After); measured is the time from FCM's first transient answer to the push FCM
accepts, read from the stand-in's own record of both requests.

`before` replays the design before the backoff: a record handed back without Retry-After
kept its visibility timeout (Dispatch did not change it), which this case reproduces by
making the handler's hold-back a no-op when there is no Retry-After."""

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
from bench._fixtures import task_event

OWNER = "asmith"  # the sample event's assignee
TOKEN = "fcm-bench-000000-" + "x" * 140  # what _seed registers for the first user


def _received(record: dict[str, Any]) -> float:
    return dt.datetime.fromisoformat(record["received_at"]).timestamp()


def measure(params: dict[str, Any]) -> dict[str, Any]:
    cases: list[dict[str, Any]] = params["cases"]
    state_dir = Path(tempfile.mkdtemp(prefix="retry-"))
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
        from ecmpush import bootstrap

        bootstrap.reset()
        _seed(provisioned, [OWNER])
        function = LocalFunction(cfn.functions(template)["DispatchFunction"])
        queue = provisioned.refs["DispatchQueue"]
        poller = SqsPoller(queue, provisioned.arns["DispatchQueue"], function)
        import boto3

        sqs = boto3.client("sqs")
        _warm_dispatch(bootstrap)  # a warm container: token, secrets and clients exist
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

            bootstrap.hold_back_message = hold  # type: ignore[assignment]
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
                    "seconds_to_push": round(_received(delivered[0]) - _received(transient[0]), 3),
                }
            )
        bootstrap.hold_back_message = real_hold
        fcm.stop()
        return {"visibility_timeout_s": visibility, "runs": results}
    finally:
        assert moto.stdin is not None
        moto.stdin.close()
        moto.wait(timeout=20)


if __name__ == "__main__":
    print(json.dumps(measure(json.loads(sys.argv[1]))), flush=True)
