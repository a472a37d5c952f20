"""The domain's 4 KiB estimate against the bytes the SDK really puts on the wire."""

from __future__ import annotations

import json

import pytest

from ecmpush.adapters.fcm_sender import FcmSender
from ecmpush.domain.delivery.push import Push, WebAction
from ecmpush.domain.delivery.render import payload_size


def _push(**overrides: object) -> Push:
    values: dict[str, object] = {
        "token": "fcm-token-" + "x" * 150,
        "title": "Approval needed: Approve supplier contract ACME-2026-114",
        "body": "Document: ACME-2026-114 Supplier Agreement.pdf · Due 2026-12-01 18:00 CET",
        "data": {
            "notification_id": "n" * 36,
            "title": "t",
            "body": "b",
            "action_token": "v1." + "a" * 300,
        },
        "link": "https://app.example.com/tasks/1/1/1?n=abc",
        "apns_category": "ECM_APPROVAL",
        "click_action": "ECM_APPROVAL",
        "web_actions": (WebAction("approve", "Approve"), WebAction("reject", "Reject")),
        "tag": "n" * 36,
    }
    values.update(overrides)
    return Push(**values)  # type: ignore[arg-type]


def _sdk_bytes(push: Push) -> int:
    wire = FcmSender.wire_message(push)
    payload = {k: v for k, v in wire.items() if k not in ("token", "fid")}
    return len(json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode())


@pytest.mark.parametrize(
    "overrides",
    [
        {},
        {"title": "Ä" * 300, "body": "😀" * 400},
        {"ttl_seconds": 600, "collapse_key": "task-4711"},
        {"link": "ecmpush://tasks/1", "web_actions": ()},
        {"priority": "normal", "tag": None},
    ],
)
def test_estimate_is_never_below_the_sdk_encoding(overrides: dict[str, object]) -> None:
    push = _push(**overrides)
    assert payload_size(push) >= _sdk_bytes(push)
    assert payload_size(push) - _sdk_bytes(push) <= 64  # and close enough to be useful


def test_platform_blocks_do_not_repeat_title_and_body() -> None:
    wire = FcmSender.wire_message(_push())
    assert "alert" not in wire["apns"]["payload"]["aps"]
    assert "title" not in wire["webpush"]["notification"]
    assert wire["notification"] == {"title": _push().title, "body": _push().body}
