"""RelayPollFunction (issue 24): the standalone relay's poll run by the template's schedule,
against the Content Server stand-in, with the IAM template.yaml gives it enforced on every call
(tests/iam.py). Its events go through intake's checks and accept-once in-process and reach the
assignee as pushes; its state is the `#relay:state` item of RecordsTable; it never reads the
webhook secret; a standalone relay posting the same step to the webhook is answered `duplicate`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from devstack.stack import local_ecm_credentials
from ecmpush.adapters.relay_state_item import RelayStateConflict, RelayStateItem
from senders.relay.assignments import event_id
from senders.relay.config import RelayConfig
from senders.relay.poller import poll
from senders.relay.webhook import MAX_BATCH
from tests.integration.harness import WEBHOOK_SECRET, Harness

pytestmark = pytest.mark.relay_function
SEEDED_STEP = "4711/4711/1"  # devstack/ecm_seed.json: asmith's approval
SEEDED_TITLE = "Approve supplier contract ACME-2026-114"


def _poll(harness: Harness) -> dict[str, Any]:
    return harness.scheduled("RelayPollFunction", "2026-12-08T09:00:00Z")


def _state(harness: Harness) -> dict[str, Any] | None:
    item: dict[str, Any] | None = (
        harness.table("RecordsTable")
        .get_item(Key={"record_key": "#relay:state"}, ConsistentRead=True)
        .get("Item")
    )
    return item


def _pushes_of_the_seeded_step(harness: Harness, token: str) -> list[dict[str, Any]]:
    return [m for m in harness.fcm.messages(token=token) if SEEDED_TITLE in json.dumps(m)]


def test_the_scheduled_poll_reaches_the_assignee_within_its_role(harness: Harness) -> None:
    harness.register("asmith", "asmith-phone-relayfn1", "fcm-asmith-relay-fn", "android")

    report = _poll(harness)

    assert report["sent"] >= 1, report
    assert (report["pending"], report["refused"], report["unreadable"]) == (0, 0, []), report
    stored = harness.table("EventsTable").get_item(
        Key={"event_id": event_id(SEEDED_STEP, "asmith")}
    )
    assert stored["Item"]["type"] == "task.assigned"
    assert stored["Item"]["tenant"] == "ecm"  # RelayTenant's default
    harness.drain()
    assert len(_pushes_of_the_seeded_step(harness, "fcm-asmith-relay-fn")) == 1

    state = _state(harness)
    assert state is not None
    assert json.loads(state["document"])["steps"][SEEDED_STEP] == ["asmith"]

    again = _poll(harness)
    assert (again["sent"], again["pending"]) == (0, 0)
    harness.drain()
    assert len(_pushes_of_the_seeded_step(harness, "fcm-asmith-relay-fn")) == 1

    assert harness.iam is not None
    assert not harness.iam.denied
    webhook_secret = harness.provisioned.arns["WebhookSecret"]
    assert not [
        c for c in harness.iam.calls if c[0] == "RelayPollFunction" and c[2] == webhook_secret
    ]
    assert any(c[0] == "RelayPollFunction" for c in harness.iam.calls)


def test_a_completed_step_is_handed_over_as_completed(harness: Harness) -> None:
    _poll(harness)
    with harness.ecm._lock:
        harness.ecm.tasks[(4711, 4711, 1)].status = "completed"
    report = _poll(harness)
    assert report["sent"] == 1, report
    stored = harness.table("EventsTable").get_item(Key={"event_id": "otcs-4711-4711-1-completed"})
    assert stored["Item"]["type"] == "task.completed"
    state = _state(harness)
    assert state is not None
    assert SEEDED_STEP not in json.loads(state["document"])["steps"]


def test_the_function_and_a_standalone_relay_meet_as_duplicate(
    harness: Harness, ecm_server: tuple[Any, str], tmp_path: Path
) -> None:
    """Both senders give a step the same event id; a standalone relay that also has the
    function's `occurred_at` (they share no state, so here it is read back from EventsTable)
    posts the very same event, and the webhook answers `duplicate`: no second push."""
    harness.register("asmith", "asmith-phone-relayfn2", "fcm-asmith-relay-both", "android")
    _poll(harness)
    harness.drain()
    stored = harness.table("EventsTable").get_item(
        Key={"event_id": event_id(SEEDED_STEP, "asmith")}
    )["Item"]
    standalone = RelayConfig(
        webhook_url="http://unused.invalid",
        webhook_secret=WEBHOOK_SECRET,
        tenant="ecm",
        ecm_base_url=ecm_server[1],
        ecm_secret=local_ecm_credentials(ecm_server[1]),
        state_file=tmp_path / "state.json",
        maps={},
        default_stage="task",  # RelayDefaultStage's default: the function's wording
    )
    answers: list[dict[str, str]] = []

    def to_webhook(events: Any) -> dict[str, str]:
        mine = [e for e in events if e["id"] == stored["event_id"]]
        for event in mine:
            event["occurred_at"] = stored["occurred_at"]
        reply = harness.post_event(json.dumps({"events": mine}).encode())
        results = reply.body["results"]
        answers.extend(results)
        return {r["id"]: r["status"] for r in results}

    from ecmpush.adapters.ecm.client import EcmClient
    from ecmpush.adapters.ecm.config import EcmConfig

    client = EcmClient(EcmConfig.from_secret(standalone.ecm_secret, base_url=ecm_server[1]))
    poll(standalone, client, to_webhook)
    assert [a["status"] for a in answers] == ["duplicate"]
    harness.drain()
    assert len(_pushes_of_the_seeded_step(harness, "fcm-asmith-relay-both")) == 1


def test_the_state_item_is_written_only_over_the_revision_read(harness: Harness) -> None:
    item = RelayStateItem(harness.table("RecordsTable"))
    assert item.read() == (None, 0)
    item.write({"version": 2, "steps": {}, "seen": {}}, 0)
    document, revision = item.read()
    assert (document, revision) == ({"version": 2, "steps": {}, "seen": {}}, 1)
    with pytest.raises(RelayStateConflict):
        item.write({"version": 2, "steps": {"1/1/1": ["x"]}, "seen": {}}, 0)  # a stale run
    item.write({"version": 2, "steps": {"1/1/1": ["x"]}, "seen": {}}, 1)
    assert item.read()[1] == 2


def test_batches_stay_within_the_webhooks_limit() -> None:
    from senders.relay.function import intake_delivery

    bodies: list[int] = []

    def receive(body: bytes) -> list[dict[str, Any]]:
        events = json.loads(body)["events"]
        bodies.append(len(events))
        return [{"id": e["id"], "status": "accepted"} for e in events]

    events = [{"id": f"e{i}"} for i in range(MAX_BATCH * 2 + 1)]
    outcome = intake_delivery(receive)(events)
    assert bodies == [MAX_BATCH, MAX_BATCH, 1]
    assert set(outcome.values()) == {"accepted"}
