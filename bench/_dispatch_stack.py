"""The in-process Dispatch stack the withdrawal and transient_retry children measure on: a moto
server (its own process, bench/_fanout_child.py's) with the template's queues and tables, the FCM
stand-in in this process, one registered Android device per user, and the template's Dispatch
handler drained by devstack's SQS poller with 1 s long polls, as the event source mapping would,
built warm (token, secrets and clients exist). It sets the AWS environment: children only."""

from __future__ import annotations

import datetime as dt
import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import bench  # noqa: F401  (puts the layer on sys.path)
from bench._common import REPO
from bench._fanout_child import _seed, _start_moto, _warm_dispatch


@dataclass(frozen=True)
class DispatchStack:
    fcm: Any  # devstack's FCM stand-in: faults, reset, its record of messages
    poller: Any  # devstack's SqsPoller over the dispatch queue
    queue: str  # the dispatch queue's URL
    sqs: Any  # a boto3 SQS client against the moto server
    bootstrap: Any  # ecmpush.bootstrap, as the handler uses it


def received(record: dict[str, Any]) -> float:
    """When the FCM stand-in received a request, as epoch seconds."""
    return dt.datetime.fromisoformat(record["received_at"]).timestamp()


@contextmanager
def dispatch_stack(prefix: str, users: list[str]) -> Iterator[DispatchStack]:
    state_dir = Path(tempfile.mkdtemp(prefix=prefix))
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

        bootstrap.reset()
        _seed(provisioned, users)
        function = LocalFunction(cfn.functions(template)["DispatchFunction"])
        queue = provisioned.refs["DispatchQueue"]
        poller = SqsPoller(queue, provisioned.arns["DispatchQueue"], function)
        sqs = boto3.client("sqs")
        _warm_dispatch(bootstrap)
        try:
            yield DispatchStack(fcm=fcm, poller=poller, queue=queue, sqs=sqs, bootstrap=bootstrap)
        finally:
            fcm.stop()
    finally:
        assert moto.stdin is not None
        moto.stdin.close()
        moto.wait(timeout=20)
