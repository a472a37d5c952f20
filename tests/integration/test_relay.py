"""The ECM-side senders against the Content Server stand-in and the real webhook handler over
HTTP (API Gateway emulated by the devstack router): the relay's poll, its announce endpoint
(`POST /steps`, what the WebReport reportview and the OScript event script call) and its raw
forward (`POST /events`)."""

from __future__ import annotations

import io
import json
import logging
import re
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
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
from ecmpush.domain.intake.events import event_adapter
from ecmpush.entrypoints import webhook_signature as signature
from ecmpush.privacy import who
from senders.relay import state
from senders.relay.assignments import event_id
from senders.relay.config import MapRule, RelayConfig
from senders.relay.forward import forward_app
from senders.relay.poller import poll
from senders.relay.server import RelayServer
from senders.relay.webhook import deliver
from tests.integration.ecm_steps import GROUP_TASK
from tests.integration.harness import WEBHOOK_SECRET, Harness

WATCHED_MAP = 39000
API_KEY = "relay-test-api-key"
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


def _config(tmp_path: Path, webhook_url: str, ecm_url: str, **extra: Any) -> RelayConfig:
    extra.setdefault("webhook_api_key", API_KEY)
    extra.setdefault("ecm_secret", local_ecm_credentials(ecm_url))
    return RelayConfig(
        webhook_url=webhook_url,
        webhook_secret=WEBHOOK_SECRET,
        tenant="acme",
        ecm_base_url=ecm_url,
        state_file=tmp_path / "relay-state.json",
        maps={WATCHED_MAP: MapRule(stage="approval", supervisor="bjones")},
        **extra,
    )


def _relay(config: RelayConfig, now: datetime | None = None) -> Any:
    """One poll; `now` fixes its clock (an hour ago, say, so that an event it builds itself
    cannot share `occurred_at` with another sender's by landing in the same second)."""
    client = EcmClient(EcmConfig.from_secret(config.ecm_secret, base_url=config.ecm_base_url))
    return poll(
        config,
        client,
        lambda events: deliver(
            config.webhook_url, config.webhook_secret, events, api_key=config.webhook_api_key
        ),
        (lambda: now) if now is not None else (lambda: datetime.now(UTC)),
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
    event = _stored(harness, event_id("4900/4900/1", "asmith"))
    assert event is not None
    assert event["type"] == "task.assigned"
    harness.drain()
    [push] = harness.fcm.messages(token="fcm-asmith-relay")
    assert "Approve safety form SF-12" in json.dumps(push)
    assert state.load(config.state_file).known == {"4900/4900/1": frozenset({"asmith"})}

    assert _relay(config).sent == 0  # nothing changed: nothing sent
    harness.drain()
    assert len(harness.fcm.messages(token="fcm-asmith-relay")) == 1

    with harness.ecm._lock:  # the step is sent on in Content Server
        harness.ecm.tasks[(4900, 4900, 1)].status = "completed"
    assert _relay(config).sent == 1
    assert _stored(harness, "otcs-4900-4900-1-completed") is not None
    assert state.load(config.state_file).known == {}


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
    assert state.load(down.state_file).known == {}
    up = _config(tmp_path, webhook, ecm_url)
    assert _relay(up).sent == 1
    assert _stored(harness, event_id("4900/4900/1", "asmith")) is not None


def test_a_wrong_secret_is_refused_by_the_webhook_and_retried_later(
    harness: Harness, webhook: str, ecm_url: str, tmp_path: Path
) -> None:
    harness.ecm.seed({"tasks": [RELAYED]})
    config = _config(tmp_path, webhook, ecm_url)
    wrong = RelayConfig(**{**config.__dict__, "webhook_secret": "not-the-secret"})
    assert _relay(wrong).pending == 1  # 401: the whole request failed, nothing recorded
    assert _stored(harness, event_id("4900/4900/1", "asmith")) is None


def test_without_the_api_key_api_gateway_refuses_and_the_relay_retries_later(
    harness: Harness, webhook: str, ecm_url: str, tmp_path: Path
) -> None:
    """Issue 9: POST /ecm/events needs the ECM sender's API key (its own usage plan). A relay
    without it gets 403 before the webhook runs; nothing is stored, the event stays pending,
    and the relay configured with the key delivers it."""
    harness.ecm.seed({"tasks": [RELAYED]})
    keyless = _config(tmp_path, webhook, ecm_url, webhook_api_key=None)
    assert _relay(keyless).pending == 1
    assert _stored(harness, event_id("4900/4900/1", "asmith")) is None
    assert harness.queue_depth() == 0
    assert _relay(_config(tmp_path, webhook, ecm_url)).sent == 1
    assert _stored(harness, event_id("4900/4900/1", "asmith")) is not None


def test_the_relay_reads_its_api_key_from_the_environment(tmp_path: Path) -> None:
    from senders.relay.config import RelayConfigError, load

    secret_file = tmp_path / "ecm.json"
    secret_file.write_text(json.dumps({"username": "svc-relay", "password": "pw"}))
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


# -- the announce endpoint (POST /steps) and what calls it -----------------------------------

SENDERS = Path(__file__).resolve().parents[2] / "senders"
REPORTVIEW = SENDERS / "webreport/announce_step.reportview.txt"
EVENT_SCRIPT = SENDERS / "oscript/AnnounceToEcmpush.os"
FORWARD_TOKEN = "relay-token"
FORM = "application/x-www-form-urlencoded"
ANNOUNCED = {**RELAYED, "process_id": 4920, "subprocess_id": 4920, "title": 'The "final" C:\\draft'}
ANNOUNCED_IDS = {"process_id": "4920", "subprocess_id": "4920", "task_id": "1"}
AN_HOUR_AGO = datetime.now(UTC) - timedelta(hours=1)


def _wire(recorded: list[tuple[dict[str, str], bytes]]) -> list[dict[str, Any]]:
    """Every event that reached the webhook, in order (each request is a signed batch)."""
    return [event for _, body in recorded for event in json.loads(body)["events"]]


@pytest.fixture
def listener(
    harness: Harness,
    recorded: tuple[str, list[tuple[dict[str, str], bytes]]],
    ecm_url: str,
    tmp_path: Path,
) -> Iterator[tuple[str, RelayConfig]]:
    """The relay's `forward` listener (announce and raw forward) in front of the recorded
    webhook, reading Content Server as its service account; its config shares the state file
    with `_relay` polls."""
    config = _config(tmp_path, recorded[0], ecm_url, forward_token=FORWARD_TOKEN)
    with BackgroundServer(forward_app(config)) as server:
        yield server.url, config


def _announce(url: str, body: bytes | str, *, content_type: str = FORM, **headers: str) -> Any:
    headers.setdefault("Authorization", f"Bearer {FORWARD_TOKEN}")
    data = body.encode() if isinstance(body, str) else body
    return requests.post(
        f"{url}/steps", data=data, headers={"Content-Type": content_type, **headers}, timeout=30
    )


def _form(ids: dict[str, str]) -> str:
    return "&".join(f"{name}={value}" for name, value in ids.items())


def test_an_announced_step_reaches_its_assignee_with_its_title_intact(
    harness: Harness,
    recorded: tuple[str, list[tuple[dict[str, str], bytes]]],
    listener: tuple[str, RelayConfig],
) -> None:
    """The ids are all the caller sends; the title (with `"` and `\\`, which broke the old
    JSON reportview) comes from Content Server through the REST API, so nothing is escaped by
    hand anywhere. The event on the wire is signed with the webhook secret, carries the API key
    and never the forward token."""
    url, config = listener
    harness.register("asmith", "asmith-phone-5c2e8d1f", "fcm-asmith-announce", "android")
    harness.ecm.seed({"tasks": [ANNOUNCED]})

    answer = _announce(url, _form(ANNOUNCED_IDS))

    assert answer.status_code == 202, answer.text
    assert answer.json() == {
        "status": "accepted",
        "step": "4920/4920/1",
        "events": [
            {"id": event_id("4920/4920/1", "asmith"), "assignee": "asmith", "status": "accepted"}
        ],
    }
    ((sent_headers, sent_body),) = recorded[1]
    assert sent_headers["x-api-key"] == API_KEY
    assert "authorization" not in sent_headers
    signature.verify(
        sent_headers["x-ecmpush-signature"], sent_body, [WEBHOOK_SECRET.encode()], time.time()
    )
    (event,) = _wire(recorded[1])
    assert event["data"]["task"]["title"] == 'The "final" C:\\draft'
    assert event_adapter.validate_python(event).type == "task.assigned"
    assert state.load(config.state_file).known == {"4920/4920/1": frozenset({"asmith"})}
    assert state.load(config.state_file).seen == {}  # delivered: nothing left to fix
    harness.drain()
    (push,) = harness.fcm.messages(token="fcm-asmith-announce")
    data = push["message"]["data"]
    assert data["title"] == 'Approval needed: The "final" C:\\draft'
    assert data["deep_link"].startswith("https://app.test/tasks/4920/4920/1?")
    assert data["due_at"] == "2026-12-04T17:00:00Z"


@pytest.mark.parametrize("announce_first", [True, False], ids=["announce-poll", "poll-announce"])
def test_announce_and_poll_one_after_the_other_are_one_push(
    harness: Harness,
    recorded: tuple[str, list[tuple[dict[str, str], bytes]]],
    listener: tuple[str, RelayConfig],
    announce_first: bool,
) -> None:
    """Whichever comes second finds the step in the shared state: the poll sends nothing, the
    announce (and the event script firing again) is answered `duplicate` without posting."""
    url, config = listener
    harness.register("asmith", "asmith-phone-5c2e8d1f", "fcm-asmith-announce", "android")
    harness.ecm.seed({"tasks": [ANNOUNCED]})
    if announce_first:
        assert _announce(url, _form(ANNOUNCED_IDS)).status_code == 202
        report = _relay(config)
        assert (report.sent, report.pending, report.refused) == (0, 0, 0)
    else:
        assert _relay(config).sent == 1
    again = _announce(url, _form(ANNOUNCED_IDS))
    assert (again.status_code, again.json()["status"]) == (200, "duplicate")
    assert again.json()["events"] == [
        {"id": event_id("4920/4920/1", "asmith"), "assignee": "asmith", "status": "duplicate"}
    ]
    assert len(_wire(recorded[1])) == 1
    harness.drain()
    assert len(harness.fcm.messages(token="fcm-asmith-announce")) == 1


def test_poll_and_announce_racing_post_the_same_bytes_and_the_second_is_a_duplicate(
    harness: Harness,
    recorded: tuple[str, list[tuple[dict[str, str], bytes]]],
    listener: tuple[str, RelayConfig],
) -> None:
    """Both read the step before either recorded it (the announce lands while the poll is
    posting): both post, and the webhook answers the second `duplicate` because the two events
    are identical, `occurred_at` included (fixed in the shared state by whoever built it
    first), not `conflict`."""
    url, config = listener
    harness.register("asmith", "asmith-phone-5c2e8d1f", "fcm-asmith-announce", "android")
    harness.ecm.seed({"tasks": [ANNOUNCED]})
    announced: list[Any] = []

    def poll_posting(events: Any) -> dict[str, str]:
        announced.append(_announce(url, _form(ANNOUNCED_IDS)))  # lands first
        return deliver(config.webhook_url, config.webhook_secret, events, api_key=API_KEY)

    client = EcmClient(EcmConfig.from_secret(config.ecm_secret, base_url=config.ecm_base_url))
    report = poll(config, client, poll_posting, now=lambda: AN_HOUR_AGO)

    ((first,),) = (answer.json()["events"] for answer in announced)
    assert first["status"] == "accepted"
    assert report.sent == 1  # the webhook answered the poll's post `duplicate`
    polled, announced_event = _wire(recorded[1])[::-1]
    assert polled == announced_event
    stored = _stored(harness, event_id("4920/4920/1", "asmith"))
    assert stored is not None
    harness.drain()
    assert len(harness.fcm.messages(token="fcm-asmith-announce")) == 1
    assert state.load(config.state_file).known == {"4920/4920/1": frozenset({"asmith"})}


def test_announce_racing_a_poll_is_answered_duplicate_by_the_webhook(
    harness: Harness,
    recorded: tuple[str, list[tuple[dict[str, str], bytes]]],
    ecm_url: str,
    tmp_path: Path,
) -> None:
    """The other order: a poll lands while the announce is posting; the announce's own post
    is then the webhook's `duplicate`, and the caller is told so (200)."""
    config = _config(tmp_path, recorded[0], ecm_url, forward_token=FORWARD_TOKEN)
    harness.ecm.seed({"tasks": [ANNOUNCED]})
    polled: list[Any] = []

    def announce_posting(events: Any) -> dict[str, str]:
        polled.append(_relay(config, AN_HOUR_AGO))  # lands first
        return deliver(config.webhook_url, config.webhook_secret, events, api_key=API_KEY)

    with BackgroundServer(forward_app(config, deliver=announce_posting)) as server:
        answer = _announce(server.url, _form(ANNOUNCED_IDS))

    assert [report.sent for report in polled] == [1]
    assert (answer.status_code, answer.json()["status"]) == (200, "duplicate")
    first, second = _wire(recorded[1])
    assert first == second


def test_a_group_step_is_announced_to_each_member(
    harness: Harness,
    recorded: tuple[str, list[tuple[dict[str, str], bytes]]],
    listener: tuple[str, RelayConfig],
) -> None:
    url, config = listener
    harness.register("asmith", "asmith-phone-5c2e8d1f", "fcm-asmith-group", "android")
    harness.register("cwu", "cwu-phone-7a3b9e2c4d", "fcm-cwu-group", "android")
    harness.ecm.seed({"tasks": [{**GROUP_TASK, "map_id": WATCHED_MAP}]})

    answer = _announce(
        url,
        json.dumps({"process_id": 4800, "subprocess_id": 4800, "task_id": 1}),
        content_type="application/json",
    )

    assert answer.status_code == 202, answer.text
    assert [(e["assignee"], e["status"]) for e in answer.json()["events"]] == [
        ("asmith", "accepted"),
        ("cwu", "accepted"),
    ]
    assert [e["id"] for e in _wire(recorded[1])] == [
        event_id("4800/4800/1", "asmith"),
        event_id("4800/4800/1", "cwu"),
    ]
    assert _relay(config).sent == 0  # what poll would have sent, per member, is sent
    harness.drain()
    assert len(harness.fcm.messages(token="fcm-asmith-group")) == 1
    assert len(harness.fcm.messages(token="fcm-cwu-group")) == 1


@pytest.mark.parametrize(
    ("ids", "status", "answer"),
    [
        ({"process_id": "4710", "subprocess_id": "4710", "task_id": "1"}, 409, "not_current"),
        ({"process_id": "4999", "subprocess_id": "4999", "task_id": "1"}, 404, "unknown_step"),
        ({"process_id": "4920", "subprocess_id": "4920", "task_id": "7"}, 404, "unknown_step"),
        ({"process_id": "4711", "subprocess_id": "4711", "task_id": "1"}, 422, "not_watched"),
    ],
)
def test_a_step_that_is_not_current_or_not_watched_sends_nothing(
    harness: Harness,
    recorded: tuple[str, list[tuple[dict[str, str], bytes]]],
    listener: tuple[str, RelayConfig],
    ids: dict[str, str],
    status: int,
    answer: str,
) -> None:
    """4710: a finished step of the seed; 4999: no such workflow; task 7: no such step of a
    running one; 4711: a current step of a map the relay does not watch."""
    url, config = listener
    harness.ecm.seed({"tasks": [ANNOUNCED]})
    with harness.ecm._lock:
        harness.ecm.tasks[(4710, 4710, 1)].map_id = WATCHED_MAP
    reply = _announce(url, _form(ids))
    assert (reply.status_code, reply.json()["status"]) == (status, answer)
    assert recorded[1] == []
    assert not config.state_file.exists()
    assert harness.queue_depth() == 0


def test_a_relay_account_without_rights_on_the_workflow_sends_nothing(
    harness: Harness,
    recorded: tuple[str, list[tuple[dict[str, str], bytes]]],
    ecm_url: str,
    tmp_path: Path,
) -> None:
    """The relay configured with an account that may not see the workflow's status (not a
    workflow manager, not involved): Content Server answers 400 "Could not access task status",
    as it does for a process that does not exist (REST API 2.0.2 does not tell them apart), so
    the caller hears `unknown_step`; nothing is sent or recorded."""
    bjones = {"auth_mode": "password", "username": "bjones", "password": "bjones-local"}
    config = _config(tmp_path, recorded[0], ecm_url, forward_token=FORWARD_TOKEN, ecm_secret=bjones)
    harness.ecm.seed({"tasks": [ANNOUNCED]})
    with BackgroundServer(forward_app(config)) as server:
        reply = _announce(server.url, _form(ANNOUNCED_IDS))
    assert (reply.status_code, reply.json()["status"]) == (404, "unknown_step")
    assert "Retry-After" not in reply.headers
    assert recorded[1] == []
    assert not config.state_file.exists()


def test_a_current_step_naming_nobody_is_a_409_and_sends_nothing(
    harness: Harness,
    recorded: tuple[str, list[tuple[dict[str, str], bytes]]],
    listener: tuple[str, RelayConfig],
) -> None:
    url, _ = listener
    harness.ecm.seed({"tasks": [{**ANNOUNCED, "assignee": ""}]})
    reply = _announce(url, _form(ANNOUNCED_IDS))
    assert (reply.status_code, reply.json()["status"]) == (409, "no_holder")
    assert recorded[1] == []


def test_bad_tokens_and_malformed_ids_are_refused_before_anything_is_read(
    harness: Harness,
    recorded: tuple[str, list[tuple[dict[str, str], bytes]]],
    listener: tuple[str, RelayConfig],
) -> None:
    """Over HTTP; every other malformed request: tests/unit/test_relay_announce_requests.py."""
    url, config = listener
    harness.ecm.seed({"tasks": [ANNOUNCED]})
    for authorization in ("Bearer nope", f"Bearer {FORWARD_TOKEN}x"):
        reply = _announce(url, _form(ANNOUNCED_IDS), Authorization=authorization)
        assert reply.status_code == 401
    anonymous = requests.post(
        f"{url}/steps", data=_form(ANNOUNCED_IDS), headers={"Content-Type": FORM}, timeout=10
    )
    assert anonymous.status_code == 401
    malformed = _announce(url, "process_id=4920&subprocess_id=4920&task_id=-1")
    assert (malformed.status_code, malformed.json()["fields"]) == (400, ["task_id"])
    assert recorded[1] == []
    assert harness.ecm.requests("/api/v2/workflows") == []  # not even read
    assert not config.state_file.exists()


def test_content_server_unreachable_records_nothing_and_a_retry_works(
    harness: Harness,
    recorded: tuple[str, list[tuple[dict[str, str], bytes]]],
    ecm_url: str,
    tmp_path: Path,
) -> None:
    config = _config(tmp_path, recorded[0], ecm_url, forward_token=FORWARD_TOKEN)
    harness.ecm.seed({"tasks": [ANNOUNCED]})
    impatient = EcmClient(
        EcmConfig.from_secret(config.ecm_secret, base_url=config.ecm_base_url, max_attempts=1)
    )
    with BackgroundServer(forward_app(config, impatient)) as server:
        harness.ecm.outage(60)
        down = _announce(server.url, _form(ANNOUNCED_IDS))
        harness.ecm.outage(0)
        retried = _announce(server.url, _form(ANNOUNCED_IDS))

    assert down.status_code == 503
    assert down.headers["Retry-After"] == "30"
    assert down.json()["status"] == "ecm_unavailable"
    assert (retried.status_code, retried.json()["status"]) == (202, "accepted")
    assert len(_wire(recorded[1])) == 1


def test_content_server_unreachable_leaves_no_state_file(
    harness: Harness,
    recorded: tuple[str, list[tuple[dict[str, str], bytes]]],
    tmp_path: Path,
) -> None:
    config = _config(tmp_path, recorded[0], "http://127.0.0.1:9", forward_token=FORWARD_TOKEN)
    impatient = EcmClient(
        EcmConfig.from_secret(
            local_ecm_credentials("http://127.0.0.1:9"),
            base_url="http://127.0.0.1:9",
            max_attempts=1,
        )
    )
    with BackgroundServer(forward_app(config, impatient)) as server:
        reply = _announce(server.url, _form(ANNOUNCED_IDS))
    assert reply.status_code == 503
    assert list(tmp_path.iterdir()) == []  # no state file, no lock file
    assert recorded[1] == []


def test_webhook_down_the_announce_is_pending_and_the_retry_posts_the_same_event(
    harness: Harness,
    recorded: tuple[str, list[tuple[dict[str, str], bytes]]],
    ecm_url: str,
    tmp_path: Path,
) -> None:
    harness.ecm.seed({"tasks": [ANNOUNCED]})
    down = _config(tmp_path, "http://127.0.0.1:9", ecm_url, forward_token=FORWARD_TOKEN)
    with BackgroundServer(forward_app(down)) as server:
        pending = _announce(server.url, _form(ANNOUNCED_IDS))
    assert (pending.status_code, pending.json()["status"]) == (503, "pending")
    assert pending.headers["Retry-After"] == "30"
    kept = state.load(down.state_file)
    assert kept.known == {}
    fixed = kept.seen[event_id("4920/4920/1", "asmith")]

    report = _relay(_config(tmp_path, recorded[0], ecm_url), AN_HOUR_AGO)  # the next poll
    assert report.sent == 1
    (event,) = _wire(recorded[1])
    assert event["occurred_at"] == fixed


def test_the_webreport_output_announces_the_step(
    harness: Harness,
    recorded: tuple[str, list[tuple[dict[str, str], bytes]]],
    listener: tuple[str, RelayConfig],
) -> None:
    """The reportview filled with a ready step's ids (what the event script hands the
    WebReport) is a form body the announce endpoint takes as is, newline and all."""
    url, _ = listener
    harness.register("asmith", "asmith-phone-5c2e8d1f", "fcm-asmith-webreport", "android")
    harness.ecm.seed({"tasks": [ANNOUNCED]})
    reportview = REPORTVIEW.read_text(encoding="utf-8")
    body = re.sub(r"\[LL_REPTAG_&(\w+) /\]", lambda m: ANNOUNCED_IDS[m.group(1)], reportview)
    assert set(re.findall(r"\[LL_REPTAG_&(\w+) /\]", reportview)) == set(ANNOUNCED_IDS)

    answer = _announce(url, body)

    assert answer.status_code == 202, answer.text
    harness.drain()
    (push,) = harness.fcm.messages(token="fcm-asmith-webreport")
    assert push["message"]["data"]["title"] == 'Approval needed: The "final" C:\\draft'


def _event_script_request(ids: dict[str, str]) -> tuple[str, dict[str, str]]:
    """The request senders/oscript/AnnounceToEcmpush.os is written to send, read from its
    text: the body from its `Str.Format` (workID, subWorkID, taskID for %1..%3) and the headers
    from its Assoc, with the token for `.fRelayToken`."""
    script = EVENT_SCRIPT.read_text(encoding="utf-8")
    (template,) = re.findall(r'Str\.Format\( "([^"]+)", workID, subWorkID, taskID \)', script)
    body = template
    for n, name in enumerate(("process_id", "subprocess_id", "task_id"), start=1):
        body = body.replace(f"%{n}", ids[name])
    headers = dict(re.findall(r'headers\.\( "([^"]+)" \) = "([^"]*)"', script))
    assert re.search(r'headers\.\( "Authorization" \) = "Bearer " \+ token', script)
    headers["Authorization"] = f"Bearer {FORWARD_TOKEN}"
    return body, headers


def test_the_event_scripts_request_reaches_the_assignee(
    harness: Harness,
    recorded: tuple[str, list[tuple[dict[str, str], bytes]]],
    listener: tuple[str, RelayConfig],
) -> None:
    url, _ = listener
    harness.register("asmith", "asmith-phone-5c2e8d1f", "fcm-asmith-oscript", "android")
    harness.ecm.seed({"tasks": [ANNOUNCED]})
    body, headers = _event_script_request(ANNOUNCED_IDS)
    assert headers["Content-Type"] == FORM
    assert body == "process_id=4920&subprocess_id=4920&task_id=1"

    answer = requests.post(f"{url}/steps", data=body.encode(), headers=headers, timeout=30)

    assert (answer.status_code, answer.json()["status"]) == (202, "accepted")
    harness.drain()
    (push,) = harness.fcm.messages(token="fcm-asmith-oscript")
    assert push["message"]["data"]["deep_link"].startswith("https://app.test/tasks/4920/4920/1?")


# -- the raw forward (POST /events): off unless the administrator lists event types ----------

EVENTS = Path(__file__).resolve().parents[2] / "events"
DOCUMENT_AVAILABLE = (EVENTS / "ecm/document_available.json").read_bytes()
# What finding 2 signed for whoever held the forward token: a step handed to someone Content
# Server never named, and a critical alert (which passes mutes and quiet hours).
FORGED_TASK: dict[str, Any] = {
    "id": "evt-forged-4920",
    "type": "task.assigned",
    "occurred_at": "2026-12-01T09:00:00Z",
    "tenant": "acme",
    "data": {
        "task": {
            "process_id": "4920",
            "subprocess_id": "4920",
            "task_id": "1",
            "title": "Approve",
            "stage": "approval",
        },
        "assignee": {"user_id": "asmith"},
        "supervisor": {"user_id": "mallory"},
    },
}
FORGED_ALERT = {
    "id": "evt-forged-alert",
    "type": "governance.alert",
    "occurred_at": "2026-12-01T09:00:00Z",
    "tenant": "acme",
    "data": {"kind": "unauthorized_access", "severity": "critical", "summary": "Reset now"},
}


def _forward(url: str, body: bytes | dict[str, Any]) -> Any:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return requests.post(
        f"{url}/events",
        data=data,
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {FORWARD_TOKEN}"},
        timeout=30,
    )


@pytest.fixture
def forwarding(
    recorded: tuple[str, list[tuple[dict[str, str], bytes]]], ecm_url: str, tmp_path: Path
) -> Iterator[str]:
    """A listener whose administrator switched `/events` on for `document.available` only."""
    config = _config(
        tmp_path,
        recorded[0],
        ecm_url,
        forward_token=FORWARD_TOKEN,
        forward_event_types=frozenset({"document.available"}),
    )
    with BackgroundServer(forward_app(config)) as server:
        yield server.url


def test_events_is_off_by_default_and_signs_nothing(
    harness: Harness,
    recorded: tuple[str, list[tuple[dict[str, str], bytes]]],
    listener: tuple[str, RelayConfig],
) -> None:
    """Issue 20, finding 2: with the default configuration the forward token signs no event at
    all, however well-formed; steps come in only through `/steps`, read from Content Server."""
    url, config = listener
    assert config.forward_event_types == frozenset()
    for body in (FORGED_TASK, FORGED_ALERT, DOCUMENT_AVAILABLE, {"events": [FORGED_TASK]}):
        reply = _forward(url, body)
        assert reply.status_code == 403, reply.text
        assert "POST /steps" in reply.json()["error"]
        assert "forward_event_types" in reply.json()["error"]
    assert recorded[1] == []  # nothing reached the webhook
    assert _stored(harness, "evt-forged-4920") is None
    assert harness.queue_depth() == 0


def test_an_allowed_type_is_signed_unchanged_and_forwarded(
    harness: Harness,
    recorded: tuple[str, list[tuple[dict[str, str], bytes]]],
    forwarding: str,
) -> None:
    headers = {"Content-Type": "application/json"}
    for refused in ({}, {"Authorization": "Bearer nope"}):
        reply = requests.post(
            f"{forwarding}/events",
            data=DOCUMENT_AVAILABLE,
            headers={**headers, **refused},
            timeout=10,
        )
        assert reply.status_code == 401
    assert recorded[1] == []
    answer = _forward(forwarding, DOCUMENT_AVAILABLE)
    again = _forward(forwarding, DOCUMENT_AVAILABLE)
    assert (answer.status_code, answer.json()["status"]) == (202, "accepted")
    assert (again.status_code, again.json()["status"]) == (200, "duplicate")
    (sent_headers, sent_body), _ = recorded[1]
    assert sent_body == DOCUMENT_AVAILABLE
    assert "authorization" not in sent_headers
    signature.verify(
        sent_headers["x-ecmpush-signature"],
        DOCUMENT_AVAILABLE,
        [WEBHOOK_SECRET.encode()],
        time.time(),
    )
    with pytest.raises(signature.InvalidSignature):
        signature.verify(
            sent_headers["x-ecmpush-signature"], DOCUMENT_AVAILABLE, [b"another"], time.time()
        )


def test_a_type_the_administrator_did_not_list_is_still_refused_whole(
    harness: Harness,
    recorded: tuple[str, list[tuple[dict[str, str], bytes]]],
    forwarding: str,
) -> None:
    """Every event of the body must be of a listed type, as the webhook reads the body (a batch
    is an object with `events` and no `type`): one other event refuses the whole request, and a
    body that hides its type (no object, no type) is refused too."""
    available = json.loads(DOCUMENT_AVAILABLE)
    cases: list[tuple[dict[str, Any] | list[Any], list[str]]] = [
        (FORGED_TASK, ["type"]),
        (FORGED_ALERT, ["type"]),
        ({"events": [available, FORGED_TASK]}, ["events[1].type"]),
        ({"events": [FORGED_ALERT, "x", available]}, ["events[0].type", "events[1].type"]),
        ({**available, "type": "Document.Available"}, ["type"]),
        ({k: v for k, v in available.items() if k != "type"}, ["type"]),
        ([available], ["type"]),
    ]
    for body, fields in cases:
        reply = _forward(forwarding, json.dumps(body).encode())
        assert (reply.status_code, reply.json()["fields"]) == (403, fields), body
        assert reply.json()["allowed"] == ["document.available"]
    assert recorded[1] == []
    assert _stored(harness, "evt-forged-4920") is None
    assert _stored(harness, str(available["id"])) is None  # its batch was refused whole
    assert harness.queue_depth() == 0


@pytest.mark.parametrize(
    "body",
    [
        b'{"id": "evt-1", "type": "document.available", "data": {"document": {"name": "a "b""}}}',
        b"\xef\xbb\xbf" + DOCUMENT_AVAILABLE,  # a BOM
        DOCUMENT_AVAILABLE.decode().encode("utf-16"),  # json.loads(bytes) would read it
        b'{"events": {"0": ' + DOCUMENT_AVAILABLE + b"}}",
        b"[" * 100_000 + b"]" * 100_000,
    ],
    ids=["unescaped-quote", "bom", "utf-16", "events-not-a-list", "deep"],
)
def test_a_raw_body_the_relay_cannot_read_as_the_webhook_would_is_refused_whole(
    harness: Harness,
    recorded: tuple[str, list[tuple[dict[str, str], bytes]]],
    forwarding: str,
    body: bytes,
) -> None:
    """The caveat of `/events`: a script that substitutes a `"` into its JSON unescaped gets
    400 and nothing is signed or stored (which is why steps go through `/steps`); a body in
    another encoding is 400 too, so its types are never read differently from the webhook."""
    reply = _forward(forwarding, body)
    assert reply.status_code == 400, reply.text
    assert recorded[1] == []
    assert harness.queue_depth() == 0


def test_forward_event_types_is_an_explicit_list_of_non_step_types(tmp_path: Path) -> None:
    from senders.relay.config import RelayConfigError, load

    secret_file = tmp_path / "ecm.json"
    secret_file.write_text(json.dumps({"username": "svc-relay", "password": "pw"}))
    raw: dict[str, Any] = {
        "webhook_url": "https://x.test/prod",
        "tenant": "acme",
        "ecm_base_url": "https://ecm.test/otcs/cs.exe",
        "ecm_secret_file": str(secret_file),
        "state_file": str(tmp_path / "state.json"),
    }
    path = tmp_path / "relay.json"
    environ = {"ECMPUSH_WEBHOOK_SECRET": "s"}
    path.write_text(json.dumps(raw))
    assert load(path, environ).forward_event_types == frozenset()
    path.write_text(json.dumps({**raw, "forward_event_types": ["document.available"]}))
    assert load(path, environ).forward_event_types == frozenset({"document.available"})
    for wrong, message in (
        (["task.assigned"], "POST /steps"),
        (["document.available", "task.completed"], "POST /steps"),
        (["document.*"], "unknown event types"),
        ("document.available", "a list"),
        ([None], "a list"),
    ):
        path.write_text(json.dumps({**raw, "forward_event_types": wrong}))
        with pytest.raises(RelayConfigError, match=re.escape(message)):
            load(path, environ)
    with pytest.raises(RelayConfigError, match="POST /steps"):  # built in code, not loaded
        RelayConfig(
            **{
                **_config(tmp_path, "http://w.test", "http://e.test").__dict__,
                "forward_event_types": frozenset({"task.assigned"}),
            }
        )


# -- the listener's server: threaded, a timeout per connection ------------------------------


@contextmanager
def _relay_server(app: Any, timeout: float) -> Iterator[tuple[str, int]]:
    """`python -m senders.relay forward`'s own server (not the test harness's threaded one)."""
    server = RelayServer("127.0.0.1", 0, app, timeout=timeout)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield "127.0.0.1", server.server_port
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.mark.timeout(60)
def test_an_idle_connection_does_not_hold_up_an_announce(
    harness: Harness,
    recorded: tuple[str, list[tuple[dict[str, str], bytes]]],
    ecm_url: str,
    tmp_path: Path,
) -> None:
    """Issue 20, finding 3: a client that connects and says nothing (or half a request line)
    held wsgiref's single-threaded server, so the Step Ready event's `/steps` call waited inside
    Content Server's transaction. Served by the relay's server (a timeout far longer than this
    test), the announce is answered while both idle connections are still open; the test's
    timeout is the bound."""
    config = _config(tmp_path, recorded[0], ecm_url, forward_token=FORWARD_TOKEN)
    harness.ecm.seed({"tasks": [ANNOUNCED]})
    with (
        _relay_server(forward_app(config), timeout=600) as (host, port),
        socket.create_connection((host, port)) as idle,
        socket.create_connection((host, port)) as half,
    ):
        half.sendall(b"POST /steps HTTP/1.1\r\nHost: relay\r\n")
        answer = _announce(f"http://{host}:{port}", _form(ANNOUNCED_IDS))
        assert (answer.status_code, answer.json()["status"]) == (202, "accepted")
        idle.setblocking(False)
        with pytest.raises(BlockingIOError):  # still open, nothing said: not closed
            idle.recv(1)
    assert len(_wire(recorded[1])) == 1


@pytest.mark.timeout(60)
def test_two_announces_of_one_step_at_once_are_one_push(
    harness: Harness,
    recorded: tuple[str, list[tuple[dict[str, str], bytes]]],
    ecm_url: str,
    tmp_path: Path,
) -> None:
    """Served in threads, two Ready events' calls for one step can now run at once in one
    process: the state's lock and its fixed `occurred_at` still make them one event (the second
    is a `duplicate`, from the state or from the webhook, or, while the first is still being
    accepted, the webhook's "in progress" for the caller to retry) and one push."""
    config = _config(tmp_path, recorded[0], ecm_url, forward_token=FORWARD_TOKEN)
    harness.register("asmith", "asmith-phone-5c2e8d1f", "fcm-asmith-twice", "android")
    harness.ecm.seed({"tasks": [ANNOUNCED]})
    start = threading.Barrier(2)
    answers: list[Any] = []

    def call(url: str) -> None:
        start.wait()
        answers.append(_announce(url, _form(ANNOUNCED_IDS)))

    with _relay_server(forward_app(config), timeout=600) as (host, port):
        callers = [threading.Thread(target=call, args=(f"http://{host}:{port}",)) for _ in range(2)]
        for caller in callers:
            caller.start()
        for caller in callers:
            caller.join()

    first, second = sorted(answers, key=lambda a: a.status_code != 202)
    assert first.status_code == 202
    assert second.status_code in (200, 503), second.text  # a duplicate, or still in progress
    assert {e["id"] for e in _wire(recorded[1])} == {event_id("4920/4920/1", "asmith")}
    harness.drain()
    assert len(harness.fcm.messages(token="fcm-asmith-twice")) == 1


@pytest.mark.timeout(60)
def test_the_server_closes_a_connection_idle_past_its_timeout(tmp_path: Path) -> None:
    """Each connection's socket times out: a silent client, and one that stops half-way
    through a request line, are closed by the server (the read below returns end of stream;
    without the timeout it would wait until the test's timeout fails it). A body that stops
    short of its Content-Length is answered 408 and closed. Nothing is forwarded."""
    forwarded: list[Any] = []
    config = RelayConfig(
        webhook_url="http://127.0.0.1:9",
        webhook_secret=WEBHOOK_SECRET,
        tenant="acme",
        ecm_base_url="http://127.0.0.1:9",
        ecm_secret={},
        state_file=tmp_path / "relay-state.json",
        maps={},
        forward_token=FORWARD_TOKEN,
    )
    app = forward_app(config, ecm=object(), deliver=forwarded.append)  # type: ignore[arg-type]
    with (
        _relay_server(app, timeout=0.5) as (host, port),
        socket.create_connection((host, port)) as idle,
        socket.create_connection((host, port)) as half,
        socket.create_connection((host, port)) as short,
    ):
        half.sendall(b"POST /steps HTTP/1.1\r\n")
        short.sendall(
            b"POST /steps HTTP/1.1\r\nHost: relay\r\nAuthorization: Bearer "
            + FORWARD_TOKEN.encode()
            + b"\r\nContent-Type: application/x-www-form-urlencoded\r\n"
            b"Content-Length: 44\r\n\r\nprocess_id=4920"
        )
        assert idle.recv(1) == b""
        assert half.recv(1) == b""
        answer = b""
        while chunk := short.recv(4096):
            answer += chunk
        assert answer.startswith(b"HTTP/1.0 408 "), answer
        assert b"body not received in time" in answer
    assert forwarded == []


# -- login names stay out of the relay's logs and event ids ---------------------------------


def test_relay_logs_and_event_ids_never_carry_the_login(
    harness: Harness,
    recorded: tuple[str, list[tuple[dict[str, str], bytes]]],
    ecm_url: str,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Issue 20, finding 11: event ids ended in the holder's login and the relay logged them
    (and an announce's answers, logins included) when the webhook refused or was down. Now an
    id carries a hash of the login and log lines the project's pseudonym (`ecmpush.privacy.who`).
    Both paths are driven here: an announce while the webhook is down, then a poll whose event
    the webhook refuses (`conflict`: another body under the same id is already stored)."""
    caplog.set_level(logging.DEBUG)
    harness.ecm.seed({"tasks": [ANNOUNCED, RELAYED]})
    down = _config(tmp_path, "http://127.0.0.1:9", ecm_url, forward_token=FORWARD_TOKEN)
    with BackgroundServer(forward_app(down)) as server:
        pending = _announce(server.url, _form(ANNOUNCED_IDS))
    assert pending.json()["status"] == "pending"
    config = _config(tmp_path, recorded[0], ecm_url)
    taken = event_id("4900/4900/1", "asmith")
    other = {**FORGED_TASK, "id": taken, "data": {**FORGED_TASK["data"], "supervisor": None}}
    assert deliver(config.webhook_url, WEBHOOK_SECRET, [other], api_key=API_KEY) == {
        taken: "accepted"
    }

    report = _relay(config, AN_HOUR_AGO)

    assert (report.sent, report.refused) == (1, 1)  # 4920 from `seen`; 4900 a conflict
    relay_lines = [r for r in caplog.records if r.name.startswith("senders.")]
    assert any("webhook answered" in r.getMessage() for r in relay_lines)
    assert any("webhook refused" in r.getMessage() for r in relay_lines)
    assert any(who("asmith") in r.getMessage() for r in relay_lines)  # the pseudonym instead
    assert not [r.getMessage() for r in caplog.records if "asmith" in r.getMessage()]
    ids = [e["id"] for e in _wire(recorded[1])]
    assert len(ids) == 3  # the stored one, the poll's two
    assert not [i for i in ids if "asmith" in i]
    assert not [i for i in pending.json()["events"] if "asmith" in i["id"]]
    assert "asmith" not in json.dumps(state.load(config.state_file).seen)
