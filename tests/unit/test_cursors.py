"""Paging cursors: opaque to services and clients, read back only when they are what the store
handed out for this query and this reader."""

from __future__ import annotations

import base64
import json

import pytest

from ecmpush.adapters.dynamo_cursor import from_cursor, to_cursor
from ecmpush.domain.page import InvalidCursor, Page

KEYS = frozenset({"notification_id", "sk", "recipient", "created_at"})
LAST = {"notification_id": "n-1", "sk": "i#asmith", "recipient": "asmith", "created_at": "2026"}


def _encoded(value: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode()


def test_a_cursor_round_trips_and_the_last_page_has_none() -> None:
    cursor = to_cursor(LAST)
    assert cursor is not None
    assert from_cursor(cursor, KEYS, {"recipient": "asmith"}) == LAST
    assert to_cursor(None) is None
    assert to_cursor({}) is None
    assert from_cursor(None, KEYS) is None  # the first page
    assert Page((), None).last
    assert not Page((1,), cursor).last


@pytest.mark.parametrize(
    "cursor",
    [
        pytest.param("not base64 !", id="not-base64"),
        pytest.param(base64.urlsafe_b64encode(b"\xff\xfe").decode(), id="not-utf8"),
        pytest.param(_encoded(["n-1"]), id="not-an-object"),
        pytest.param(_encoded({**LAST, "extra": "x"}), id="another-query"),
        pytest.param(_encoded({k: v for k, v in LAST.items() if k != "sk"}), id="missing-key"),
        pytest.param(_encoded({**LAST, "created_at": 2026}), id="not-a-string"),
        pytest.param(_encoded({**LAST, "recipient": "bjones"}), id="another-reader"),
        pytest.param(_encoded({"a": [[[[[[[[[[[]]]]]]]]]]]} | LAST), id="nested"),
        pytest.param(base64.urlsafe_b64encode(b"[" * 100_000).decode(), id="deep-nesting"),
    ],
)
def test_a_cursor_the_store_did_not_hand_out_is_refused(cursor: str) -> None:
    with pytest.raises(InvalidCursor):
        from_cursor(cursor, KEYS, {"recipient": "asmith"})
