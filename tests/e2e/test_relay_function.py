"""The relay's poll as the template's scheduled function (issue 24): `python -m devstack run
--relay` creates RelayPollFunction (EnableRelay=true) and schedules it; run now through
`python -m devstack sweep relay`, it reads the Content Server stand-in's running workflows and
the assignee's phone gets the push, with no sender on the ECM side. Without `--relay` the
function does not exist, as in a stack deployed with EnableRelay=false."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from devstack.demo import wait_for
from tests.e2e.conftest import RunningStack, devstack, started_stack

pytestmark = pytest.mark.e2e
RELAY_RUN = ("--no-demo", "--relay")
SEEDED = "Approve supplier contract ACME-2026-114"  # devstack/ecm_seed.json, asmith's step


@pytest.fixture(scope="module")
def relay_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    with started_stack(tmp_path_factory.mktemp("relay-stack"), *RELAY_RUN) as stack:
        yield stack


def _poll_now(stack: RunningStack) -> dict[str, Any]:
    result = devstack(stack.state_dir, "sweep", "relay", timeout=150)
    status, _, body = result.stdout.strip().partition(" ")
    assert status == "200", result.stdout + result.stderr
    answer: dict[str, Any] = json.loads(body)["result"]
    return answer


def test_the_scheduled_relay_delivers_a_push_from_the_content_server_stand_in(
    relay_stack: RunningStack,
) -> None:
    token = "fcm-e2e-relay-asmith-0001"
    response = requests.put(
        f"{relay_stack.api}/devices/e2e-relay-phone-7c1d2e",
        json={"token": token, "platform": "android"},
        headers={"Authorization": f"Bearer {relay_stack.token('asmith')}"},
        timeout=10,
    )
    assert response.status_code == 201, response.text

    first = _poll_now(relay_stack)
    assert first["sent"] >= 1, first
    assert first["pending"] == 0, first
    # asmith holds several seeded steps: one push each, this one among them.
    seeded = wait_for(
        lambda: [m for m in relay_stack.fcm_messages(token) if SEEDED in json.dumps(m)]
    )
    assert len(seeded) == 1

    again = _poll_now(relay_stack)  # nothing changed in Content Server: nothing handed over
    assert (again["sent"], again["pending"]) == (0, 0), again
    time.sleep(1)
    assert [m for m in relay_stack.fcm_messages(token) if SEEDED in json.dumps(m)] == seeded


def test_without_enable_relay_there_is_no_relay_function(running_stack: RunningStack) -> None:
    result = devstack(running_stack.state_dir, "sweep", "relay")
    assert result.returncode == 1
    assert "no sweep 'relay'" in result.stdout
