"""Issue 9, finding 2: `PUT /devices/{installation_id}` refuses ids that could be guessed
(`my-phone`): 422 naming the field, nothing stored. Installations registered before keep
working for DELETE."""

from __future__ import annotations

import uuid

from tests.integration.harness import Harness

BODY = {"token": "fcm-token-entropy-0001", "platform": "android"}


def test_a_guessable_installation_id_is_422_and_nothing_is_stored(harness: Harness) -> None:
    token = harness.identity.mint_id_token("asmith")
    for weak in ("my-phone", "aaaaaaaaaaaaaaaa"):
        reply = harness.device_call("PUT", weak, BODY, bearer=token)
        assert reply.status == 422, (weak, reply)
        assert reply.body["errors"][0]["path"] == "installation_id"
    assert harness.devices_of("asmith") == []


def test_a_random_installation_id_registers(harness: Harness) -> None:
    token = harness.identity.mint_id_token("asmith")
    installation = str(uuid.uuid4())
    assert harness.device_call("PUT", installation, BODY, bearer=token).status == 201
    assert [d["installation_id"] for d in harness.devices_of("asmith")] == [installation]


def test_an_old_short_id_can_still_be_deleted(harness: Harness) -> None:
    token = harness.identity.mint_id_token("asmith")
    assert harness.device_call("DELETE", "my-phone", bearer=token).status == 404  # not 422
