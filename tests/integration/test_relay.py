"""The ECM-side senders against the Content Server stand-in and the real webhook handler over
HTTP (API Gateway emulated by the devstack router): the relay's poll, its forward endpoint and
the WebReport reportview."""

from __future__ import annotations

import io
import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from devstack import template as cfn
from devstack.api_router import ApiRouter
from devstack.http_server import BackgroundServer
from devstack.stack import local_ecm_credentials
from ecmpush.adapters.ecm.client import EcmClient
from ecmpush.adapters.ecm.config import EcmConfig
from ecmpush.domain import webhook_signature as signature
from ecmpush.domain.ecm import TaskRef
from ecmpush.domain.events import event_adapter
from senders.relay import state
from senders.relay.config import MapRule, RelayConfig
from senders.relay.forward import forward_app
from senders.relay.poller import poll
from senders.relay.webhook import deliver
from tests.integration.harness import WEBHOOK_SECRET, Harness

WATCHED_MAP = 39000
API_KEY = "relay-test-api-key"
REPORTVIEW = Path(__file__).resolve().parents[2] / "senders/webreport/task_assigned.reportview.txt"
RELAYED = {
    "process_id": 4900,
    "subprocess_id": 4900,
    "task_id": 1,
    "title": "Approve safety form SF-12",
    "assignee": "asmith",
    "initiator": "dlee",
    "map_id": WATCHED_MAP,
    "due_date": "2026-12-04T17:00:00",
    "actions": [{"key": "SendOn", "label": "Send On"}],
    "custom_actions": [{"key": "Approve", "label": "Approve"}],
}


@pytest.fixture
def ecm_url(ecm_server: tuple[Any, str]) -> str:
    return ecm_server[1]


@pytest.fixture
def webhook(harness: Harness) -> Iterator[str]:
    """The webhook handler behind an HTTP server, as API Gateway would put it."""
    (route,) = cfn.functions(cfn.load())["WebhookIntakeFunction"].routes
    assert route.api_key_required  # template.yaml: the ECM sender's key is required
    router = ApiRouter([(route, harness.webhook)], api_keys=frozenset({API_KEY}))
    with BackgroundServer(router) as server:
        yield server.url


def _config(tmp_path: Path, webhook_url: str, ecm_url: str, **extra: Any) -> RelayConfig:
    extra.setdefault("webhook_api_key", API_KEY)
    return RelayConfig(
        webhook_url=webhook_url,
        webhook_secret=WEBHOOK_SECRET,
        tenant="acme",
        ecm_base_url=ecm_url,
        ecm_secret=local_ecm_credentials(ecm_url),
        state_file=tmp_path / "relay-state.json",
        maps={WATCHED_MAP: MapRule(stage="approval", supervisor="bjones")},
        **extra,
    )


def _relay(config: RelayConfig) -> Any:
    client = EcmClient(EcmConfig.from_secret(config.ecm_secret, base_url=config.ecm_base_url))
    return poll(
        config,
        client,
        lambda events: deliver(
            config.webhook_url, config.webhook_secret, events, api_key=config.webhook_api_key
        ),
    )


def _stored(harness: Harness, event_id: str) -> dict[str, Any] | None:
    item: dict[str, Any] | None = (
        harness.table("EventsTable").get_item(Key={"event_id": event_id}).get("Item")
    )
    return item


def test_a_new_step_is_relayed_once_and_reaches_the_assignee(
    harness: Harness, webhook: str, ecm_url: str, tmp_path: Path
) -> None:
    harness.register("asmith", "asmith-phone-4b7e1c9a", "fcm-asmith-relay", "android")
    harness.ecm.seed({"tasks": [RELAYED]})
    config = _config(tmp_path, webhook, ecm_url)

    report = _relay(config)
    assert (report.workflows, report.sent, report.pending) == (1, 1, 0)
    event = _stored(harness, "otcs-4900-4900-1-asmith")
    assert event is not None
    assert event["type"] == "task.assigned"
    harness.drain()
    [push] = harness.fcm.messages(token="fcm-asmith-relay")
    assert "Approve safety form SF-12" in json.dumps(push)
    assert state.load(config.state_file) == {"4900/4900/1": frozenset({"asmith"})}

    assert _relay(config).sent == 0  # nothing changed: nothing sent
    harness.drain()
    assert len(harness.fcm.messages(token="fcm-asmith-relay")) == 1

    with harness.ecm._lock:  # the step is sent on in Content Server
        harness.ecm.tasks[(4900, 4900, 1)].status = "completed"
    assert _relay(config).sent == 1
    assert _stored(harness, "otcs-4900-4900-1-completed") is not None
    assert state.load(config.state_file) == {}


def test_unwatched_maps_are_not_relayed(
    harness: Harness, webhook: str, ecm_url: str, tmp_path: Path
) -> None:
    report = _relay(_config(tmp_path, webhook, ecm_url))  # the demo seed's map only
    assert (report.workflows, report.sent) == (0, 0)
    assert harness.queue_depth() == 0


def test_webhook_down_loses_nothing(
    harness: Harness, webhook: str, ecm_url: str, tmp_path: Path
) -> None:
    harness.ecm.seed({"tasks": [RELAYED]})
    down = _config(tmp_path, "http://127.0.0.1:9", ecm_url)  # nothing listens there
    report = _relay(down)
    assert (report.sent, report.pending) == (0, 1)
    assert state.load(down.state_file) == {}
    up = _config(tmp_path, webhook, ecm_url)
    assert _relay(up).sent == 1
    assert _stored(harness, "otcs-4900-4900-1-asmith") is not None


def test_a_wrong_secret_is_refused_by_the_webhook_and_retried_later(
    harness: Harness, webhook: str, ecm_url: str, tmp_path: Path
) -> None:
    harness.ecm.seed({"tasks": [RELAYED]})
    config = _config(tmp_path, webhook, ecm_url)
    wrong = RelayConfig(**{**config.__dict__, "webhook_secret": "not-the-secret"})
    assert _relay(wrong).pending == 1  # 401: the whole request failed, nothing recorded
    assert _stored(harness, "otcs-4900-4900-1-asmith") is None


def test_without_the_api_key_api_gateway_refuses_and_the_relay_retries_later(
    harness: Harness, webhook: str, ecm_url: str, tmp_path: Path
) -> None:
    """Issue 9: POST /ecm/events needs the ECM sender's API key (its own usage plan). A relay
    without it gets 403 before the webhook runs; nothing is stored, the event stays pending,
    and the relay configured with the key delivers it."""
    harness.ecm.seed({"tasks": [RELAYED]})
    keyless = _config(tmp_path, webhook, ecm_url, webhook_api_key=None)
    assert _relay(keyless).pending == 1
    assert _stored(harness, "otcs-4900-4900-1-asmith") is None
    assert harness.queue_depth() == 0
    assert _relay(_config(tmp_path, webhook, ecm_url)).sent == 1
    assert _stored(harness, "otcs-4900-4900-1-asmith") is not None


def test_the_relay_reads_its_api_key_from_the_environment(tmp_path: Path) -> None:
    from senders.relay.config import RelayConfigError, load

    secret_file = tmp_path / "ecm.json"
    secret_file.write_text("{}")
    raw = {
        "webhook_url": "https://x.test/prod",
        "tenant": "acme",
        "ecm_base_url": "https://ecm.test/otcs/cs.exe",
        "ecm_secret_file": str(secret_file),
        "state_file": str(tmp_path / "state.json"),
        "webhook_api_key_env": "KEY",
    }
    path = tmp_path / "relay.json"
    path.write_text(json.dumps(raw))
    config = load(path, {"ECMPUSH_WEBHOOK_SECRET": "s", "KEY": "the-key"})
    assert config.webhook_api_key == "the-key"
    assert "the-key" not in repr(config)
    with pytest.raises(RelayConfigError, match="KEY"):
        load(path, {"ECMPUSH_WEBHOOK_SECRET": "s"})


# The reportview's parameters of one step (the tests vary ids, assignee, title and stage).
REPORTVIEW_VALUES = {
    "process_id": "4911",
    "subprocess_id": "4911",
    "task_id": "1",
    "assignee": "bjones",
    "title": "Approve supplier contract",
    "stage": "approval",
    "due_at": "2026-12-04T17:00:00Z",
    "tenant": "acme",
    "occurred_at": "2026-12-02T09:00:00Z",
}


def _render(reportview: str, values: dict[str, str]) -> bytes:
    """What WebReports makes of `[LL_REPTAG_&name /]`: the request parameter's value."""
    return re.sub(r"\[LL_REPTAG_&(\w+) /\]", lambda m: values[m.group(1)], reportview).encode()


@pytest.fixture
def forwarder(harness: Harness, webhook: str, ecm_url: str, tmp_path: Path) -> Iterator[str]:
    config = _config(tmp_path, webhook, ecm_url, forward_token="relay-token")
    with BackgroundServer(forward_app(config)) as server:
        yield server.url


def test_the_webreport_event_is_signed_and_forwarded(harness: Harness, forwarder: str) -> None:
    body = _render(
        REPORTVIEW.read_text(encoding="utf-8"),
        {
            **REPORTVIEW_VALUES,
            "process_id": "4711",
            "subprocess_id": "4711",
            "assignee": "asmith",
            "title": "Approve supplier contract ACME-2026-114",
        },
    )
    headers = {"Content-Type": "application/json"}
    refused = requests.post(f"{forwarder}/events", data=body, headers=headers, timeout=10)
    assert refused.status_code == 401
    wrong = requests.post(
        f"{forwarder}/events",
        data=body,
        headers={**headers, "Authorization": "Bearer nope"},
        timeout=10,
    )
    assert wrong.status_code == 401
    assert _stored(harness, "otcs-4711-4711-1-asmith") is None
    answer = requests.post(
        f"{forwarder}/events",
        data=body,
        headers={**headers, "Authorization": "Bearer relay-token"},
        timeout=10,
    )
    assert (answer.status_code, answer.json()["status"]) == (202, "accepted")
    assert _stored(harness, "otcs-4711-4711-1-asmith") is not None
    not_json = requests.post(
        f"{forwarder}/events",
        data=b"{",
        headers={**headers, "Authorization": "Bearer relay-token"},
        timeout=10,
    )
    assert not_json.status_code == 400


WEBREPORT_STEP = {
    **RELAYED,
    "process_id": 4910,
    "subprocess_id": 4910,
    "title": "Prüfung Lieferantenvertrag ACME-2026-114 (Anlage 2)",
    "assignee": "bjones",
}


@pytest.fixture
def recorded(harness: Harness) -> Iterator[tuple[str, list[tuple[dict[str, str], bytes]]]]:
    """The webhook behind API Gateway's stand-in, recording every request it was sent (headers,
    raw body) before the handler sees it: what a sender actually put on the wire."""
    (route,) = cfn.functions(cfn.load())["WebhookIntakeFunction"].routes
    router = ApiRouter([(route, harness.webhook)], api_keys=frozenset({API_KEY}))
    seen: list[tuple[dict[str, str], bytes]] = []

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        headers = {
            k[5:].replace("_", "-").lower(): str(v)
            for k, v in environ.items()
            if k.startswith("HTTP_")
        }
        headers["content-type"] = str(environ.get("CONTENT_TYPE", ""))
        seen.append((headers, body))
        environ["wsgi.input"] = io.BytesIO(body)
        return router(environ, start_response)

    with BackgroundServer(app) as server:
        yield server.url, seen


def test_the_webreport_fed_a_stand_in_step_sends_a_signed_contract_event(
    harness: Harness,
    recorded: tuple[str, list[tuple[dict[str, str], bytes]]],
    ecm_url: str,
    tmp_path: Path,
) -> None:
    """The reportview filled with what Content Server (the stand-in, through its REST API) says
    of a ready step, as the workflow event script passes it: a contract-valid `task.assigned`
    that the forward endpoint signs unchanged, the real webhook handler verifies and accepts,
    and Dispatch turns into the assignee's push for that very step. The event script firing
    again is a duplicate, not a second push."""
    webhook_url, seen = recorded
    harness.register("bjones", "bjones-phone-9c1d2e7f", "fcm-bjones-webreport", "android")
    harness.ecm.seed({"tasks": [WEBREPORT_STEP]})
    client = EcmClient(EcmConfig.from_secret(local_ecm_credentials(ecm_url), base_url=ecm_url))
    ref = TaskRef("4910", "4910", "1")
    step = client.workflow_status("4910").current_step(ref)
    assert step is not None
    (assignee,) = step.assignees
    parameters = {  # what the step's Ready event script hands to the WebReport
        **REPORTVIEW_VALUES,
        "process_id": step.ref.process_id,
        "subprocess_id": step.ref.subprocess_id,
        "task_id": step.ref.task_id,
        "title": step.name,
        "due_at": f"{step.due_date}Z",  # Content Server's zoneless time, the server's UTC
        "assignee": assignee.login,
    }
    body = _render(REPORTVIEW.read_text(encoding="utf-8"), parameters)
    event = event_adapter.validate_json(body)  # contract §1, before anything is sent
    assert event.type == "task.assigned"
    config = _config(tmp_path, webhook_url, ecm_url, forward_token="relay-token")
    headers = {"Content-Type": "application/json", "Authorization": "Bearer relay-token"}
    with BackgroundServer(forward_app(config)) as forwarder:
        answer = requests.post(f"{forwarder.url}/events", data=body, headers=headers, timeout=10)
        again = requests.post(f"{forwarder.url}/events", data=body, headers=headers, timeout=10)

    assert (answer.status_code, answer.json()["status"]) == (202, "accepted")
    assert (again.status_code, again.json()["status"]) == (200, "duplicate")
    (sent_headers, sent_body), _ = seen
    assert sent_body == body  # signed unchanged
    assert sent_headers["content-type"] == "application/json"
    assert sent_headers["x-api-key"] == API_KEY
    assert "authorization" not in sent_headers  # the forward token stays inside the ECM network
    signature.verify(
        sent_headers["x-ecmpush-signature"], body, [WEBHOOK_SECRET.encode()], time.time()
    )
    with pytest.raises(signature.InvalidSignature):
        signature.verify(
            sent_headers["x-ecmpush-signature"], body, [b"another secret"], time.time()
        )

    event_id = "otcs-4910-4910-1-bjones"
    stored = _stored(harness, event_id)
    assert stored is not None
    harness.drain()
    (push,) = harness.fcm.messages(token="fcm-bjones-webreport")
    data = push["message"]["data"]
    assert data["title"] == "Approval needed: Prüfung Lieferantenvertrag ACME-2026-114 (Anlage 2)"
    assert data["deep_link"].startswith("https://app.test/tasks/4910/4910/1?")
    assert data["actions"] == "approve,reject,request_info"
    assert data["due_at"] == "2026-12-04T17:00:00Z"


def test_a_webreport_title_that_breaks_the_json_is_refused_whole(
    harness: Harness, forwarder: str
) -> None:
    """WebReports substitutes tags verbatim: a `"` in a title (see senders/webreport/README.md)
    makes the output invalid JSON, which the forward endpoint refuses instead of signing
    something the webhook would half-read; nothing is stored or sent."""
    body = _render(
        REPORTVIEW.read_text(encoding="utf-8"),
        {**REPORTVIEW_VALUES, "title": 'The "final" draft', "stage": "review"},
    )
    answer = requests.post(
        f"{forwarder}/events",
        data=body,
        headers={"Content-Type": "application/json", "Authorization": "Bearer relay-token"},
        timeout=10,
    )
    assert answer.status_code == 400
    assert _stored(harness, "otcs-4911-4911-1-bjones") is None
    assert harness.queue_depth() == 0
