"""Finding 1 of issue 9: internal content must never reach an external stakeholder. Internal
user ids and external recipients (`ext:<id>`) live in namespaces no input can cross: an event, a
routing configuration or an ID token naming `ext:...` as an ECM user is refused."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from pydantic import ValidationError

from ecmpush.domain.delivery.routing_config import RoutingConfig
from tests.conftest import sample_event
from tests.integration.harness import Harness

EXTERNAL_DEVICE_TOKEN = "fcm-globex-phone-0001"


def _external_phone(h: Harness) -> None:
    external = h.identity.mint_id_token(None, external_id="cust-globex-001")
    body = {"token": EXTERNAL_DEVICE_TOKEN, "platform": "ios", "audience": "external"}
    assert h.device_call("PUT", "globex-phone-4f9a2c7e1b", body, bearer=external).status == 201


def _event_stored(h: Harness, event_id: str) -> bool:
    item = h.table("EventsTable").get_item(Key={"event_id": event_id}).get("Item")
    return item is not None


@pytest.mark.parametrize("spelling", ["ext:cust-globex-001", "EXT:cust-globex-001"])
def test_task_for_an_external_id_is_refused_and_never_pushed(
    harness: Harness, spelling: str
) -> None:
    _external_phone(harness)
    event: dict[str, Any] = copy.deepcopy(sample_event("task_assigned"))
    event["data"]["assignee"] = {"user_id": spelling}
    reply = harness.post_event(event)
    assert reply.status == 422
    assert [e["path"] for e in reply.body["errors"]] == ["data.assignee.user_id"]
    harness.drain()
    assert harness.fcm.messages(token=EXTERNAL_DEVICE_TOKEN) == []
    assert not _event_stored(harness, event["id"])


def test_field_document_naming_an_external_user_is_refused(harness: Harness) -> None:
    _external_phone(harness)
    event: dict[str, Any] = copy.deepcopy(sample_event("document_available"))
    event["data"]["audience"]["users"] = [{"user_id": "ext:cust-globex-001"}]
    assert harness.post_event(event).status == 422
    harness.drain()
    assert harness.fcm.messages(token=EXTERNAL_DEVICE_TOKEN) == []
    assert not _event_stored(harness, event["id"])


def test_id_token_whose_ecm_user_claim_is_external_is_unauthenticated(harness: Harness) -> None:
    _external_phone(harness)
    forged = harness.identity.mint_id_token("ext:cust-globex-001")
    reply = harness.app_call(harness.devices_fn, "GET", "/me/notifications", bearer=forged)
    assert reply.status == 401
    reply = harness.device_call(
        "DELETE", "globex-phone-4f9a2c7e1b", bearer=forged
    )  # the external stakeholder's device stays
    assert reply.status == 401
    assert len(harness.devices_of("ext:cust-globex-001")) == 1


def test_routing_configuration_cannot_put_an_external_id_in_a_team() -> None:
    with pytest.raises(ValidationError, match="must not start with 'ext:'"):
        RoutingConfig.model_validate({"teams": {"field-north": ["cwu", "ext:cust-globex-001"]}})


def test_an_ecm_user_id_cannot_carry_the_sort_key_separator(harness: Harness) -> None:
    event: dict[str, Any] = copy.deepcopy(sample_event("task_assigned"))
    event["data"]["assignee"] = {"user_id": "asmith#x"}  # would read as a prefix of d#asmith#...
    assert harness.post_event(event).status == 422
    forged = harness.identity.mint_id_token("asmith#x")
    reply = harness.app_call(harness.devices_fn, "GET", "/me/notifications", bearer=forged)
    assert reply.status == 401
