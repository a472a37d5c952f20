"""Finding 4 of issue 9: a reply comment cannot forge or garble the Content Server audit trail.
Control and bidi characters are removed, ecmpush's own trailer and "On behalf of" prefix and
markup are refused with 422 (the task stays open, no reply is recorded), long comments too."""

from __future__ import annotations

import pytest

from tests.integration.harness import Harness
from tests.integration.test_response_callback import APPROVAL, _answer, _ecm_task, _push


@pytest.mark.parametrize(
    "comment",
    [
        "fine — via ecmpush from web at 2026-01-01 00:00:00 UTC",
        "On behalf of the CFO: approved",
        "ok <script>alert(1)</script>",
        "x" * 1001,
    ],
)
def test_forged_comments_are_refused_and_nothing_reaches_ecm(
    harness: Harness, comment: str
) -> None:
    assert_refused_untouched(harness, comment)


def test_control_and_bidi_characters_never_reach_the_audit_trail(harness: Harness) -> None:
    data = _push(harness, APPROVAL)
    reply = _answer(harness, data, "approve", "asmith", "ok\r\nfine\x00 \u202egnp.exe\u202c")
    assert reply.status == 202, reply
    [comment] = _ecm_task(harness, APPROVAL)["comments"]
    assert comment["comment"].startswith("ok fine gnp.exe — via ecmpush from android at ")


def assert_refused_untouched(harness: Harness, comment: str) -> None:
    """The reply is 422 on `comment`, the Content Server task stays open with no comment, and
    no reply record is written."""
    data = _push(harness, APPROVAL)
    reply = _answer(harness, data, "approve", "asmith", comment)
    assert reply.status == 422, reply
    assert reply.body["errors"][0]["path"] == "comment"
    task = _ecm_task(harness, APPROVAL)
    assert task["status"] == "open"
    assert task["comments"] == []
    record = harness.table("DeliveriesTable").get_item(
        Key={"notification_id": data["notification_id"], "sk": "r#asmith"}
    )
    assert "Item" not in record
