"""One fan-out measurement in a process of its own: `python bench/_fanout_child.py <json>`, run
with PYTHONPATH set to the code tree under test (`<tree>/layers/shared:<tree>`), so the same
driver measures today's Dispatch and an earlier commit's. Prints one JSON line.

What it builds: a moto server (its own process, DynamoDB writes made atomic as in devstack) with
that tree's template provisioned; the FCM stand-in behind the keep-alive transport (its own
process, bench/_fcm_server.py of the current checkout); `devices` users with one device each,
seeded straight into DevicesTable as that tree stores them; a routing file whose teams of 1,000
hold them. Then one `document.available` for all the teams goes on the dispatch queue and
the tree's own Dispatch handler drains it through devstack's SQS poller, one invocation after
another (one container), each with the template's Timeout unless `timeout_s` says otherwise.

Measured in this process only (the AWS and FCM sides run elsewhere): wall time from enqueue to
an empty queue, CPU seconds, peak RSS, and every AWS call by operation (botocore's
`_make_api_call`, so retries inside boto3 count once). Exactly-once is read back from the
stand-in: messages received vs distinct tokens.

With `group_members` (issue 10's 100,000), the audience is one team kept as a Content Server
group of that many users instead (the first `devices` of them with a device), served by the
Content Server stand-in in this process: Dispatch reads the group page by page."""

from __future__ import annotations

import json
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from unittest.mock import patch

TEAM = 1000  # RoutingConfig's cap per team
GROUP_ID = 40001
_MOTO = """
import sys, time
from devstack.moto_atomic import make_dynamodb_atomic
from moto.server import ThreadedMotoServer
make_dynamodb_atomic()
server = ThreadedMotoServer(ip_address="127.0.0.1", port=int(sys.argv[1]), verbose=False)
server.start()
print("ready", flush=True)
sys.stdin.read()
server.stop()
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _process_cpu(pid: int) -> float:
    """User + system CPU seconds of another process (Linux /proc; 0 where unreadable)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _start_moto(tree: str) -> tuple[subprocess.Popen[str], str]:
    port = _free_port()
    process = subprocess.Popen(  # noqa: S603 - fixed snippet, our own interpreter
        [sys.executable, "-c", _MOTO, str(port)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=tree,
    )
    assert process.stdout is not None
    if process.stdout.readline().strip() != "ready":
        raise RuntimeError("moto server did not start")
    return process, f"http://127.0.0.1:{port}"


def _start_fcm(repo: str, state_dir: Path) -> tuple[subprocess.Popen[str], str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    process = subprocess.Popen(  # noqa: S603 - our own module, fixed arguments
        [sys.executable, "-m", "bench._fcm_server", str(state_dir), "keepalive"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=repo,
        env=env,
    )
    assert process.stdout is not None
    started = json.loads(process.stdout.readline())
    return process, str(started["url"])


def _seed(provisioned: Any, users: list[str], without_devices: Sequence[str] = ()) -> None:
    """One android device per user, as that tree's DevicesRepository stores it (the roster item
    too where the tree keeps one), written 25 to a call. `without_devices` get the empty
    roster Dispatch leaves after it first finds them without a device: the steady state of a
    group broadcast (the first one to a new group also pays one Query per such member, which
    moto answers in ~50 ms against DynamoDB's few)."""
    import boto3

    from ecmpush.adapters import devices_repository as repo

    roster_key = getattr(repo, "ROSTER_KEY", None)
    now = "2026-12-01T08:00:00Z"
    table = boto3.resource("dynamodb").Table(provisioned.refs["DevicesTable"])
    with table.batch_writer() as batch:
        for n, user in enumerate(users):
            token = f"fcm-bench-{n:06d}-" + "x" * 140  # real tokens are ~160 characters
            device = {
                "owner": user,
                "installation_id": f"bench-install-{n:06d}-4f9a2c7e",
                "token": token,
                "platform": "android",
                "locale": "en-GB",
                "audience": "internal",
                "created_at": now,
                "updated_at": now,
            }
            batch.put_item(
                Item={
                    **device,
                    "token_hash": repo.token_hash(token),
                    "refresh_bucket": "2026-12",
                }
            )
            if roster_key is not None:
                entry = dict(device)
                batch.put_item(
                    Item={
                        "owner": user,
                        "installation_id": roster_key,
                        "devices": {device["installation_id"]: entry},
                    }
                )
        for user in without_devices if roster_key is not None else ():
            batch.put_item(Item={"owner": user, "installation_id": roster_key, "devices": {}})


def _start_ecm(users: list[str]) -> tuple[Any, str]:
    """The Content Server stand-in in this process, holding one group of all `users`."""
    from devstack.ecm_standin import create_ecm_standin
    from devstack.http_server import BackgroundServer

    app = create_ecm_standin()
    app.seed(
        {
            "users": [
                {"login": u, "id": 100_000 + n, "password": "x"} for n, u in enumerate(users)
            ],
            "groups": [{"id": GROUP_ID, "name": "Field organisation", "members": users}],
        }
    )
    server = BackgroundServer(app)
    server.start()
    app.server = server  # type: ignore[attr-defined]
    return app, server.url


def _depth(sqs: Any, queue: str) -> int:
    """Messages visible, in flight or delayed: zero only when the fan-out is over."""
    attributes = sqs.get_queue_attributes(
        QueueUrl=queue,
        AttributeNames=[
            "ApproximateNumberOfMessages",
            "ApproximateNumberOfMessagesNotVisible",
            "ApproximateNumberOfMessagesDelayed",
        ],
    )["Attributes"]
    return sum(int(v) for v in attributes.values())


def _fcm_messages(url: str) -> list[dict[str, Any]]:
    with urllib.request.urlopen(url + "/_inspect/messages", timeout=60) as answer:  # noqa: S310
        return list(json.loads(answer.read())["messages"])


def measure(params: dict[str, Any]) -> dict[str, Any]:
    tree, repo, count = params["tree"], params["repo"], int(params["devices"])
    state_dir = Path(tempfile.mkdtemp(prefix="fanout-"))
    moto, moto_url = _start_moto(tree)
    fcm, fcm_url = _start_fcm(repo, state_dir)
    members = int(params.get("group_members") or 0)
    users = [f"bench-user-{n:06d}" for n in range(max(count, members))]
    ecm_url, ecm_app = "http://127.0.0.1:9", None
    if members:
        ecm_app, ecm_url = _start_ecm(users)
    try:
        os.environ.update(
            {
                "AWS_ENDPOINT_URL": moto_url,
                "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": "testing",
                "AWS_SESSION_TOKEN": "testing",
                "AWS_DEFAULT_REGION": "eu-central-1",
                "AWS_REGION": "eu-central-1",
            }
        )
        from devstack import template as cfn
        from devstack.fcm_standin import token_uri_for
        from devstack.identity import LocalIdentity
        from devstack.lambda_runtime import LocalFunction
        from devstack.resources import REGION, provision
        from devstack.sqs_poller import SqsPoller
        from devstack.stack import function_environment, local_ecm_credentials

        os.environ["AWS_DEFAULT_REGION"] = os.environ["AWS_REGION"] = REGION
        identity = LocalIdentity.load_or_create(state_dir)
        template = cfn.load()
        provisioned = provision(
            template,
            secret_values={
                "WebhookSecret": "bench-webhook-secret",
                "FirebaseServiceAccountSecret": json.dumps(
                    identity.service_account_info(token_uri_for(fcm_url))
                ),
                "ActionTokenKeySecret": "bench-action-token-key",
                "EcmCredentialsSecret": json.dumps(local_ecm_credentials(ecm_url)),
            },
            parameters={
                "AppBaseUrl": "https://app.bench",
                "EcmBaseUrl": ecm_url,
                # Templates since issue 9 verify ID tokens with the project id alone.
                **(
                    {"FirebaseProjectId": identity.project_id}
                    if "FirebaseProjectId" in template.get("Parameters", {})
                    else {}
                ),
            },
        )
        teams: dict[str, Any] = (
            {"bench-group": {"ecm_group": GROUP_ID}}
            if members
            else {
                f"bench-team-{t}": users[t * TEAM : (t + 1) * TEAM]
                for t in range(-(-count // TEAM))
            }
        )
        routing = state_dir / "routing.json"
        routing.write_text(json.dumps({"teams": teams}))
        os.environ.update(function_environment(template, provisioned, fcm_url))
        os.environ["ECMPUSH_ROUTING_FILE"] = str(routing)
        os.environ["POWERTOOLS_METRICS_NAMESPACE"] = "bench"
        os.environ["POWERTOOLS_LOG_LEVEL"] = "ERROR"
        os.environ["LOG_LEVEL"] = "ERROR"
        from ecmpush import bootstrap

        bootstrap.reset()
        _seed(provisioned, users[:count], users[count:])
        spec = cfn.functions(template)["DispatchFunction"]
        timeout_s = params.get("timeout_s")
        function = LocalFunction(spec, timeout_s=float(timeout_s) if timeout_s else None)
        queue = provisioned.refs["DispatchQueue"]
        poller = SqsPoller(queue, provisioned.arns["DispatchQueue"], function)
        event = {
            "id": f"evt-bench-fanout-{count}",
            "type": "document.available",
            "occurred_at": "2026-12-01T08:00:00Z",
            "tenant": "acme",
            "data": {
                "document": {"node_id": "88001", "name": "Lockout-tagout procedure rev. 8"},
                "category": "safety_form",
                "audience": {"teams": list(teams)},
            },
        }
        import boto3
        import botocore.client

        sqs = boto3.client("sqs")
        calls: Counter[str] = Counter()
        seconds: dict[str, float] = {}
        real_call = botocore.client.BaseClient._make_api_call  # type: ignore[attr-defined]

        def counted(client: Any, operation: str, api_params: dict[str, Any]) -> Any:
            name = f"{client.meta.service_model.service_name}.{operation}"
            calls[name] += 1
            started = time.perf_counter()
            try:
                return real_call(client, operation, api_params)
            finally:
                seconds[name] = seconds.get(name, 0.0) + time.perf_counter() - started

        from devstack.lambda_runtime import InvocationTimedOut

        timed_out = retried = 0
        real_invoke = function.invoke

        def invoke(lambda_event: dict[str, Any]) -> Any:
            """Count what Lambda would report: invocations killed at the Timeout, and records
            handed back as partial batch failures (the deadline, a transient FCM answer)."""
            nonlocal timed_out, retried
            try:
                result = real_invoke(lambda_event)
            except InvocationTimedOut:
                timed_out += 1
                raise
            retried += len((result or {}).get("batchItemFailures", []))
            return result

        function.invoke = invoke  # type: ignore[method-assign,assignment]
        # A record handed back returns after its visibility timeout, as on AWS; here that is
        # just past Dispatch's Timeout, so a retried record is seen within the measurement.
        sqs.set_queue_attributes(
            QueueUrl=queue, Attributes={"VisibilityTimeout": str(int(function.timeout_s) + 5)}
        )
        # A warm container: the FCM OAuth token, secrets and clients exist before timing.
        _warm_dispatch(bootstrap)
        invocations = 0
        with patch.object(botocore.client.BaseClient, "_make_api_call", counted):
            sqs.send_message(
                QueueUrl=queue, MessageBody=json.dumps({"kind": "event", "event": event})
            )
            cpu0, started = _cpu(), time.perf_counter()
            sides0 = {"moto": _process_cpu(moto.pid), "fcm": _process_cpu(fcm.pid)}
            finished = started
            deadline = started + float(params.get("max_wait_s", 900))
            while time.perf_counter() < deadline:
                if poller.poll_once(wait_seconds=1):
                    invocations += 1
                    finished = time.perf_counter()
                elif _depth(sqs, queue) == 0:
                    break
            wall = finished - started
            cpu = _cpu() - cpu0
            sides = {
                "moto": _process_cpu(moto.pid) - sides0["moto"],
                "fcm": _process_cpu(fcm.pid) - sides0["fcm"],
            }
        messages = _fcm_messages(fcm_url)
        tokens = [m["message"]["token"] for m in messages]
        poll_calls = {
            "sqs.ReceiveMessage",
            "sqs.DeleteMessageBatch",
            "sqs.SendMessage",
            "sqs.GetQueueAttributes",
        }  # the poller's and this driver's, not Dispatch's
        aws = {k: v for k, v in calls.items() if k not in poll_calls}
        dynamo = sum(v for k, v in aws.items() if k.startswith("dynamodb."))
        ecm_reads = len(ecm_app.requests("/api/v2/members/")) if ecm_app else 0
        return {
            "devices": count,
            "group_members": members,
            "ecm_member_pages_read": ecm_reads,
            "messages": len(tokens),
            "distinct_tokens": len(set(tokens)),
            "wall_s": round(wall, 3),
            "pushes_per_s": round(len(set(tokens)) / wall, 1) if wall > 0 else None,
            "cpu_s": round(cpu, 3),
            "cpu_ms_per_push": round(1000 * cpu / max(len(tokens), 1), 3),
            # The stand-ins' CPU over the same span: on a 2-core machine they share it with
            # Dispatch, so they bound the rate when their sum nears 2 s per second of wall.
            "standin_cpu_ms_per_push": {
                k: round(1000 * v / max(len(tokens), 1), 3) for k, v in sides.items()
            },
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            "invocations": invocations,
            "timed_out": timed_out,
            "records_retried": retried,
            "dead_lettered": _depth(sqs, provisioned.refs["DispatchDeadLetterQueue"]),
            "aws_calls": dict(sorted(aws.items())),
            "aws_seconds": {k: round(seconds.get(k, 0.0), 3) for k in sorted(aws)},
            "dynamodb_calls_per_push": round(dynamo / max(len(tokens), 1), 4),
        }
    finally:
        if ecm_app is not None:
            ecm_app.server.stop()
        for process in (fcm, moto):
            assert process.stdin is not None
            process.stdin.close()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


def _warm_dispatch(bootstrap: Any) -> None:
    """Build Dispatch as a warm container has it: `build_dispatch()` in this tree,
    `dispatch_service()` in the trees of commits before issue 22's reshape."""
    build = getattr(bootstrap, "build_dispatch", None) or bootstrap.dispatch_service
    build()


if __name__ == "__main__":
    print(json.dumps(measure(json.loads(sys.argv[1]))), flush=True)
