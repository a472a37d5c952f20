"""webhook_intake: WebhookIntakeFunction end to end, in-process against moto, as the integration
tests run it (tests/integration/conftest.py and harness.py): resources provisioned from
template.yaml by `devstack.resources.provision`, the template's environment from
`devstack.stack.function_environment`, the handler loaded by `devstack.lambda_runtime`, API
Gateway proxy events from `devstack.api_router.proxy_event`, bodies signed with
`ecmpush.entrypoints.webhook_signature.sign`.

Paths compared, per event:
- handler_single: one signed event per invocation (202 accepted);
- handler_batch: 50 events per invocation (207), latency / 50;
- handler_duplicate: the same single events again (200 duplicate, answered from the
  idempotency record);
- accept_idempotent: `bootstrap.build_intake().accept_once()(event=...)`, the idempotent call
  the handler makes, without HTTP, signature or validation;
- accept_direct: `EventAcceptor.accept(event)` wired as `build_intake` wires it, the same work
  without idempotency.

moto answers in-process in about a millisecond per call; DynamoDB and SQS answer over the
network in several. moto's SendMessage also slows down linearly with the queue's depth (about
+1.7 ms per 100 queued messages here), which AWS does not: the dispatch queue is emptied before
every timed call (untimed), as a consumed queue would be; a batch still fills it from 0 to 50.
Absolute times here are therefore not Lambda's: the result gives ratios within this run and,
the figure that transfers to AWS, the number of AWS API calls each path makes per event
(counted in extra untimed passes by wrapping botocore's `_make_api_call`)."""

from __future__ import annotations

import contextlib
import io
import json
import os
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

from bench import _fixtures
from bench._common import Json, Row, Spec, ratio, stats

NAME = "webhook_intake"
BATCH = 50  # ecmpush.entrypoints.webhook_body.MAX_BATCH
SINGLES = 50
BATCH_REPS = 5
WEBHOOK_SECRET = "bench-webhook-secret"
_FAKE_AWS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}


@contextlib.contextmanager
def _environment(values: dict[str, str], remove: tuple[str, ...] = ()) -> Iterator[None]:
    saved = dict(os.environ)
    for key in remove:
        os.environ.pop(key, None)
    os.environ.update(values)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


@contextlib.contextmanager
def count_api_calls() -> Iterator[Counter[str]]:
    """Every AWS API call any botocore client makes meanwhile, as "service.Operation"."""
    from botocore.client import BaseClient

    counts: Counter[str] = Counter()
    original = BaseClient.__dict__["_make_api_call"]  # private, but stable across botocore

    def counting(self: Any, operation_name: str, api_params: Any) -> Any:
        counts[f"{self.meta.service_model.service_name}.{operation_name}"] += 1
        return original(self, operation_name, api_params)

    setattr(BaseClient, "_make_api_call", counting)  # noqa: B010 - private attribute
    try:
        yield counts
    finally:
        setattr(BaseClient, "_make_api_call", original)  # noqa: B010


class _QueueDrain:
    """Empties the dispatch queue between timed calls (receive + delete: PurgeQueue is
    limited to once a minute), as the Dispatch consumer keeps it short in a deployment."""

    def __init__(self, sqs: Any, queue_url: str) -> None:
        self._sqs = sqs
        self._url = queue_url

    def drain(self) -> None:
        while True:
            messages = self._sqs.receive_message(
                QueueUrl=self._url, MaxNumberOfMessages=10, VisibilityTimeout=60
            ).get("Messages", [])
            if not messages:
                return
            self._sqs.delete_message_batch(
                QueueUrl=self._url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                    for i, m in enumerate(messages)
                ],
            )


class _Webhook:
    """Signs bodies and invokes the handler like API Gateway would."""

    def __init__(
        self, invoke: Callable[[dict[str, Any]], Any], reset_queue: Callable[[], None]
    ) -> None:
        from devstack.api_router import proxy_event
        from ecmpush.entrypoints.webhook_signature import sign

        self._invoke = invoke
        self.reset_queue = reset_queue
        self._proxy_event = proxy_event
        self._sign = sign
        self._nonce = uuid.uuid4().hex[:8]
        self._seq = 0

    def new_event(self) -> dict[str, Any]:
        self._seq += 1
        return _fixtures.task_event(event_id=f"evt-bench-{self._nonce}-{self._seq:06d}")

    def request(self, document: dict[str, Any]) -> dict[str, Any]:
        body = json.dumps(document).encode()
        signature = self._sign(WEBHOOK_SECRET.encode(), int(time.time()), body)
        headers = {"Content-Type": ["application/json"], "X-Ecmpush-Signature": [signature]}
        return self._proxy_event("POST", "/ecm/events", "/ecm/events", headers=headers, body=body)

    def timed(self, request: dict[str, Any], expect: int, drain: bool = True) -> float:
        if drain:
            self.reset_queue()
        started = time.perf_counter()
        result = self._invoke(request)
        elapsed = time.perf_counter() - started
        if int(result["statusCode"]) != expect:
            raise RuntimeError(f"expected {expect}, got {result['statusCode']}: {result['body']}")
        return elapsed


def _per_event(samples: list[float], events: int = 1) -> Json:
    return stats([s / events * 1000 for s in samples], 3)  # ms per event


def run(quick: bool) -> Json:
    import boto3
    from moto import mock_aws

    from devstack import template as cfn
    from devstack.lambda_runtime import LocalFunction
    from devstack.resources import REGION, provision
    from devstack.stack import function_environment
    from ecmpush import bootstrap
    from ecmpush.domain.intake.events import event_adapter

    singles = 5 if quick else SINGLES
    batch_reps = 1 if quick else BATCH_REPS
    region = {"AWS_DEFAULT_REGION": REGION, "AWS_REGION": REGION}
    with _environment({**_FAKE_AWS, **region}, remove=("AWS_ENDPOINT_URL",)), mock_aws():
        template = cfn.load()
        provisioned = provision(
            template,
            secret_values=_secret_values(template),
            parameters=_parameters(template),
        )
        # The FCM URL is never called by the webhook.
        environment = function_environment(template, provisioned, "http://127.0.0.1:9")
        with _environment(environment):
            bootstrap.reset()
            try:
                function = LocalFunction(cfn.functions(template)["WebhookIntakeFunction"])
                queue = _QueueDrain(boto3.client("sqs"), provisioned.refs["DispatchQueue"])
                hook = _Webhook(function.invoke, queue.drain)
                # With metrics disabled (local environment) Powertools keeps them and prints
                # every hundredth anyway: keep that off the table.
                with contextlib.redirect_stdout(io.StringIO()):
                    result = _measure(hook, bootstrap, event_adapter, singles, batch_reps)
            finally:
                bootstrap.reset()
    return {
        "parameters": {
            "single_events": singles,
            "batch_size": BATCH,
            "batch_repetitions": batch_reps,
            "direct_calls": singles,
        },
        **result,
    }


def _secret_values(template: dict[str, Any]) -> dict[str, str]:
    """The webhook reads only its own secret; every other secret of the template gets a
    placeholder (the template grows secrets for other functions)."""
    from devstack.template import resources

    values = {
        name: json.dumps({"bench": "unused"})
        for name in resources(template, "AWS::SecretsManager::Secret")
    }
    values["WebhookSecret"] = WEBHOOK_SECRET
    return values


def _parameters(template: dict[str, Any]) -> dict[str, str]:
    """Values for parameters without a default (URLs the webhook never calls), and the hosts the
    sample events link to (intake refuses links to hosts the deployment does not list)."""
    from devstack.stack import SAMPLE_LINK_HOSTS

    values = {"AppBaseUrl": "https://app.test", "LinkHosts": SAMPLE_LINK_HOSTS}
    for name, spec in template.get("Parameters", {}).items():
        if "Default" not in spec and name not in values:
            values[name] = "https://unused.test" if name.endswith("Url") else "unused"
    return values


def _direct_acceptor() -> Any:
    """The acceptor `build_intake` puts behind idempotency, built the same way without it."""
    from ecmpush.adapters.events_repository import EventsRepository
    from ecmpush.bootstrap.parts import queue, table
    from ecmpush.clock import utc_now
    from ecmpush.services.webhook_intake import EventAcceptor
    from ecmpush.settings import settings

    config = settings()
    events = EventsRepository(table(config.events_table), config.retention_days)
    return EventAcceptor(events, queue(config.dispatch_queue_url), utc_now)


def _measure(
    hook: _Webhook, bootstrap: Any, event_adapter: Any, singles: int, batch_reps: int
) -> Json:
    # First invocation of the container: boto3 clients, secret fetch, idempotency set-up.
    first_call_s = hook.timed(hook.request(hook.new_event()), 202)

    accepted = [hook.new_event() for _ in range(singles)]
    single = [hook.timed(hook.request(event), 202) for event in accepted]
    duplicate = [hook.timed(hook.request(event), 200) for event in accepted]
    batch = [
        hook.timed(hook.request({"events": [hook.new_event() for _ in range(BATCH)]}), 207)
        for _ in range(batch_reps)
    ]
    accept_once = bootstrap.build_intake().accept_once()
    service = _direct_acceptor()
    idempotent: list[float] = []
    direct: list[float] = []
    for _ in range(singles):  # interleaved, so drift hits both alike
        for target, samples in ((accept_once, idempotent), (service.accept, direct)):
            event = event_adapter.validate_python(hook.new_event())
            hook.reset_queue()
            started = time.perf_counter()
            if target is accept_once:
                target(event=event)
            else:
                target(event)
            samples.append(time.perf_counter() - started)

    calls: dict[str, dict[str, int]] = {}

    def counted(name: str, action: Callable[[], object], per: int = 1) -> None:
        hook.reset_queue()  # not counted: only the calls the path itself makes
        with count_api_calls() as counts:
            action()
        calls[name] = {k: v // per for k, v in sorted(counts.items())}

    repeat = hook.new_event()
    counted("handler_single", lambda: hook.timed(hook.request(repeat), 202, drain=False))
    counted("handler_duplicate", lambda: hook.timed(hook.request(repeat), 200, drain=False))
    batch_body = {"events": [hook.new_event() for _ in range(BATCH)]}
    counted(
        "handler_batch_per_event",
        lambda: hook.timed(hook.request(batch_body), 207, drain=False),
        per=BATCH,
    )
    counted(
        "accept_idempotent",
        lambda: accept_once(event=event_adapter.validate_python(hook.new_event())),
    )
    counted(
        "accept_direct", lambda: service.accept(event_adapter.validate_python(hook.new_event()))
    )

    per_event = {
        "handler_single": _per_event(single),
        "handler_batch": _per_event(batch, BATCH),
        "handler_duplicate": _per_event(duplicate),
        "accept_idempotent": _per_event(idempotent),
        "accept_direct": _per_event(direct),
    }
    medians = {k: v["median"] for k, v in per_event.items()}
    return {
        "first_invocation_ms": round(first_call_s * 1000, 1),
        "per_event_ms": per_event,
        "batch_invocation_ms": stats([s * 1000 for s in batch], 1),
        "ratios": {
            "idempotent_over_direct_accept": ratio(
                medians["accept_idempotent"], medians["accept_direct"]
            ),
            "handler_single_over_direct_accept": ratio(
                medians["handler_single"], medians["accept_direct"]
            ),
            "handler_batch_over_single_per_event": ratio(
                medians["handler_batch"], medians["handler_single"]
            ),
            "duplicate_over_single": ratio(medians["handler_duplicate"], medians["handler_single"]),
        },
        "aws_calls_per_event": calls,
        "aws_calls_total_per_event": {k: sum(v.values()) for k, v in calls.items()},
    }


def headline(result: Json) -> list[Row]:
    per_event = result["per_event_ms"]
    ratios = result["ratios"]
    calls = result["aws_calls_total_per_event"]
    rows: list[Row] = [
        (
            "single event / invocation",
            f"{per_event['handler_single']['median']:.1f} ms ({calls['handler_single']} AWS calls)",
        ),
        (
            f"batch of {BATCH}, per event",
            f"{per_event['handler_batch']['median']:.1f} ms "
            f"(x{ratios['handler_batch_over_single_per_event']} of single)",
        ),
        (
            "duplicate event",
            f"{per_event['handler_duplicate']['median']:.1f} ms "
            f"({calls['handler_duplicate']} AWS calls)",
        ),
        (
            "idempotent accept vs plain accept",
            f"x{ratios['idempotent_over_direct_accept']} "
            f"({calls['accept_idempotent']} vs {calls['accept_direct']} AWS calls)",
        ),
    ]
    return rows


SPEC = Spec(
    NAME, "WebhookIntakeFunction in-process on moto: single vs batch, idempotency", run, headline
)
