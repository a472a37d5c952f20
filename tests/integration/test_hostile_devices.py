"""Finding 2 of issue 9: one user can neither take over another's device nor put their pushes
on another's screen. Each attack is refused with 409 and the victim's registration, and the
victim's next push, are untouched."""

from __future__ import annotations

from tests.conftest import sample_event
from tests.integration.harness import Harness

VICTIM_TOKEN = "fcm-victim-phone-0001"


def _pushes(h: Harness, token: str) -> list[dict[str, str]]:
    return [m["message"]["data"] for m in h.fcm.messages(token=token)]


def test_put_on_anothers_installation_id_is_refused_and_the_victim_keeps_the_device(
    harness: Harness,
) -> None:
    harness.register("asmith", "victim-installation-1", VICTIM_TOKEN)
    attacker = harness.identity.mint_id_token("mallory")
    body = {"token": "fcm-attacker-0001", "platform": "android"}
    reply = harness.device_call("PUT", "victim-installation-1", body, bearer=attacker)
    assert reply.status == 409
    assert reply.body == {"message": "this installation is registered to another user"}
    assert [d["token"] for d in harness.devices_of("asmith")] == [VICTIM_TOKEN]
    assert harness.devices_of("mallory") == []
    assert harness.post_event(sample_event("task_assigned")).status == 202  # for asmith
    harness.drain()
    assert len(_pushes(harness, VICTIM_TOKEN)) == 1  # the victim's phone still gets it
    assert _pushes(harness, "fcm-attacker-0001") == []


def test_registering_the_victims_fcm_token_under_another_account_is_refused(
    harness: Harness,
) -> None:
    harness.register("asmith", "victim-installation-1", VICTIM_TOKEN)
    attacker = harness.identity.mint_id_token("bjones")  # the supervisor of the sample task
    body = {"token": VICTIM_TOKEN, "platform": "android"}
    reply = harness.device_call("PUT", "attacker-installation-1", body, bearer=attacker)
    assert reply.status == 409
    assert reply.body == {"message": "this push token is registered to another user"}
    assert harness.devices_of("bjones") == []
    event = sample_event("document_available")  # field-north: cwu, dlee; not asmith, bjones
    assert harness.post_event(event).status == 202
    harness.drain()
    assert _pushes(harness, VICTIM_TOKEN) == []


def test_devices_per_user_are_capped_at_the_template_default(harness: Harness) -> None:
    cap = 10  # MaxDevicesPerUser
    for n in range(cap + 2):
        harness.register("asmith", f"asmith-installation-{n}", f"fcm-asmith-{n:04}")
    stored = sorted(d["installation_id"] for d in harness.devices_of("asmith"))
    assert len(stored) == cap
    assert "asmith-installation-0" not in stored  # the least recently refreshed went first
