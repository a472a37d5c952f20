"""What the webhook accepts is always deliverable (contract §1; issue 20 findings 4, 6, 11a): a
body in UTF-8 without a BOM, event times in years 2000 to 2100, links https on the operator's
hosts. Anything else is refused whole for that event (400 / 422 with the field), and nothing
of it is stored in EventsTable or queued for Dispatch."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import sample_event
from tests.integration.harness import Harness


def _stored(h: Harness, event_id: str) -> bool:
    return "Item" in h.table("EventsTable").get_item(Key={"event_id": event_id})


@pytest.mark.parametrize("codec", ["utf-8-sig", "utf-16", "utf-16-be", "utf-32", "utf-32-le"])
def test_other_encodings_are_400_and_nothing_is_kept(harness: Harness, codec: str) -> None:
    event = sample_event("task_assigned")
    reply = harness.post_event(json.dumps(event).encode(codec))
    assert reply.status == 400, reply
    assert "UTF-8" in reply.body["message"]
    assert harness.queue_depth() == 0
    assert not _stored(harness, event["id"])


def test_the_same_event_in_plain_utf8_is_accepted(harness: Harness) -> None:
    event: dict[str, Any] = sample_event("task_assigned")
    assert harness.post_event(json.dumps(event, ensure_ascii=False).encode()).status == 202
    assert harness.queue_depth() == 1
