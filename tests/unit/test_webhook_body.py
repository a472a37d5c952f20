"""Webhook body (contract §1): one event or {"events": [...]} of at most 50, each answered on its
own; whole-body problems are BodyError (too large, unreadable, wrong shape); per-event
problems name JSON paths."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from ecmpush.domain.intake.events import EVENT_TYPES
from ecmpush.entrypoints.webhook_body import (
    MAX_BATCH,
    MAX_BODY_BYTES,
    BodyError,
    BodyShapeInvalid,
    BodyTooLarge,
    BodyUnreadable,
    check_size,
    parse_body,
)
from tests.conftest import SAMPLE_EVENT_NAMES, sample_event


def completed(event_id: str) -> dict[str, Any]:
    return {
        "id": event_id,
        "type": "task.completed",
        "occurred_at": "2026-11-28T12:00:00Z",
        "tenant": "acme",
        "data": {"task": {"process_id": "4711", "subprocess_id": "4711", "task_id": "2"}},
    }


def encode(document: object) -> bytes:
    return json.dumps(document).encode()


def body_error(body: bytes) -> BodyError:
    with pytest.raises(BodyError) as info:
        parse_body(body)
    return info.value


# --- single vs batch ---------------------------------------------------------------------------


def test_single_event_is_not_a_batch() -> None:
    parsed = parse_body(encode(sample_event("task_assigned")))
    assert parsed.batch is False
    [item] = parsed.items
    assert item.index == 0
    assert item.id == "evt-sample-task-assigned-0001"
    assert item.event is not None
    assert item.event.type == "task.assigned"
    assert item.errors == []


def test_batch_sample_is_answered_item_by_item_in_order() -> None:
    parsed = parse_body(encode(sample_event("batch")))
    assert parsed.batch is True
    assert [item.index for item in parsed.items] == [0, 1]
    assert [item.id for item in parsed.items] == ["evt-sample-batch-0001", "evt-sample-batch-0002"]
    assert [item.event.type for item in parsed.items if item.event] == [
        "task.completed",
        "governance.alert",
    ]


def test_one_bad_event_does_not_sink_the_others() -> None:
    bad = completed("evt-bad")
    del bad["data"]["task"]["task_id"]
    parsed = parse_body(encode({"events": [completed("evt-a"), bad, completed("evt-c")]}))
    assert [item.event is not None for item in parsed.items] == [True, False, True]
    assert parsed.items[1].id == "evt-bad"
    assert parsed.items[1].errors == [{"path": "data.task.task_id", "message": "Field required"}]


def test_batch_of_one_is_still_a_batch() -> None:
    parsed = parse_body(encode({"events": [completed("evt-a")]}))
    assert parsed.batch is True
    assert len(parsed.items) == 1


@pytest.mark.parametrize(
    "extra",
    [{"tenant": "acme"}, {"id": "x"}, {"a": 1, "b": 2}],
)
def test_batch_with_extra_top_level_keys_is_refused(extra: dict[str, Any]) -> None:
    error = body_error(encode({"events": [completed("evt-a")], **extra}))
    assert isinstance(error, BodyShapeInvalid)
    assert [e["path"] for e in error.errors] == sorted(extra)


def test_body_with_events_and_type_is_read_as_one_event_that_has_an_unexpected_field() -> None:
    document = {**completed("evt-a"), "events": []}
    parsed = parse_body(encode(document))
    assert parsed.batch is False
    [item] = parsed.items
    assert item.event is None
    assert {"path": "events", "message": "Extra inputs are not permitted"} in item.errors


@pytest.mark.parametrize("events", [[], {}, None, "evt-a", 3, {"0": completed("evt-a")}])
def test_events_must_be_a_non_empty_list(events: object) -> None:
    error = body_error(encode({"events": events}))
    assert isinstance(error, BodyShapeInvalid)
    assert [e["path"] for e in error.errors] == ["events"]


def test_fifty_events_are_accepted() -> None:
    events = [completed(f"evt-{i}") for i in range(MAX_BATCH)]
    parsed = parse_body(encode({"events": events}))
    assert MAX_BATCH == 50
    assert len(parsed.items) == 50
    assert all(item.event is not None for item in parsed.items)
    assert [item.id for item in parsed.items] == [f"evt-{i}" for i in range(50)]


def test_fifty_one_events_are_refused_as_a_whole() -> None:
    events = [completed(f"evt-{i}") for i in range(MAX_BATCH + 1)]
    error = body_error(encode({"events": events}))
    assert isinstance(error, BodyShapeInvalid)
    assert error.errors == [{"path": "events", "message": "51 events; the limit is 50"}]


@pytest.mark.parametrize("raw", [1, "evt-a", None, [], [completed("evt-a")], True])
def test_non_object_items_are_refused_individually(raw: object) -> None:
    parsed = parse_body(encode({"events": [raw, completed("evt-ok")]}))
    bad, good = parsed.items
    assert bad.index == 0
    assert bad.id is None
    assert bad.event is None
    assert bad.errors == [{"path": "", "message": "event must be an object"}]
    assert good.event is not None


@pytest.mark.parametrize("document", [[completed("evt-a")], "event", 42, None, True])
def test_top_level_must_be_an_object(document: object) -> None:
    error = body_error(encode(document))
    assert isinstance(error, BodyShapeInvalid)
    assert error.errors == [{"path": "", "message": "expected an object"}]


# --- ids for error reporting ----------------------------------------------------------------


def test_id_is_read_even_when_the_event_is_invalid() -> None:
    parsed = parse_body(encode({"id": "evt-broken", "type": "task.completed", "data": {}}))
    [item] = parsed.items
    assert item.event is None
    assert item.id == "evt-broken"
    paths = {e["path"] for e in item.errors}
    assert {"occurred_at", "tenant", "data.task"} <= paths


def test_id_is_read_when_the_type_is_unknown() -> None:
    parsed = parse_body(encode({**completed("evt-x"), "type": "task.exploded"}))
    assert parsed.items[0].id == "evt-x"


@pytest.mark.parametrize("raw_id", [None, "", "   ", 5, ["evt"], {"id": "evt"}])
def test_unusable_ids_are_reported_as_none(raw_id: object) -> None:
    parsed = parse_body(encode({**completed("ignored"), "id": raw_id}))
    [item] = parsed.items
    assert item.id is None
    assert item.event is None
    assert any(e["path"] == "id" for e in item.errors)


def test_id_that_is_too_long_is_still_reported_for_the_error() -> None:
    long_id = "e" * 129
    parsed = parse_body(encode(completed(long_id)))
    [item] = parsed.items
    assert item.id == long_id
    assert [e["path"] for e in item.errors] == ["id"]


# --- unknown types and field paths ----------------------------------------------------------


@pytest.mark.parametrize("bad_type", ["task.exploded", "", "TASK.ASSIGNED", 7, None, ["x"]])
def test_unknown_type_message_lists_every_known_type(bad_type: object) -> None:
    parsed = parse_body(encode({**completed("evt-a"), "type": bad_type}))
    [item] = parsed.items
    assert item.event is None
    [error] = item.errors
    assert error["path"] == "type"
    for known in EVENT_TYPES:
        assert known in error["message"]


def test_missing_type_is_reported_at_path_type() -> None:
    document = completed("evt-a")
    del document["type"]
    [item] = parse_body(encode(document)).items
    assert item.errors == [
        {"path": "type", "message": f"unknown event type; expected one of {', '.join(EVENT_TYPES)}"}
    ]


def _break(event: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """Remove one required nested field of each type; return the event and the expected path."""
    broken = copy.deepcopy(event)
    data = broken["data"]
    match broken["type"]:
        case "task.assigned":
            del data["task"]["stage"]
            return broken, "data.task.stage"
        case "task.completed":
            del data["task"]["task_id"]
            return broken, "data.task.task_id"
        case "record.expiry_scheduled":
            data["record"]["expires_at"] = "2026-12-31T00:00:00"
            return broken, "data.record.expires_at"
        case "document.available":
            data["audience"]["users"] = [{"user": "x"}]
            return broken, "data.audience.users.0.user_id"
        case "document.published":
            data["audience"]["external_ids"] = []
            return broken, "data.audience.external_ids"
        case "governance.alert":
            data["severity"] = "apocalyptic"
            return broken, "data.severity"
    raise AssertionError(broken["type"])


@pytest.mark.parametrize("name", SAMPLE_EVENT_NAMES)
def test_field_paths_read_like_the_json_without_the_union_tag(name: str) -> None:
    broken, expected_path = _break(sample_event(name))
    [item] = parse_body(encode(broken)).items
    paths = [e["path"] for e in item.errors]
    assert expected_path in paths
    for path in paths:
        assert not any(path.startswith(t) or f".{t}" in path for t in EVENT_TYPES), path


# --- size and encoding ----------------------------------------------------------------------


def test_check_size_accepts_exactly_256_kib() -> None:
    assert MAX_BODY_BYTES == 262_144
    check_size(b"x" * 262_144)


def test_check_size_refuses_one_byte_more_with_413() -> None:
    with pytest.raises(BodyError) as info:
        check_size(b"x" * 262_145)
    assert isinstance(info.value, BodyTooLarge)


def test_check_size_counts_bytes_not_characters() -> None:
    with pytest.raises(BodyError):
        check_size("ä".encode() * (MAX_BODY_BYTES // 2 + 1))


@pytest.mark.parametrize(
    "body",
    [
        b"\xff\xfe\xfa",
        b'{"id": "evt-\xc3\x28"}',  # invalid UTF-8 continuation
        b'{"id": "evt-\xe2\x82"}',  # truncated sequence
        b'{"id": "evt-\xed\xa0\x80"}',  # an encoded surrogate (json.loads took it)
    ],
)
def test_invalid_utf8_is_400(body: bytes) -> None:
    error = body_error(body)
    assert isinstance(error, BodyUnreadable)


def test_lone_surrogates_never_become_an_event() -> None:
    """json.loads lets a lone surrogate through as a \\u escape (encoded as bytes it is not
    UTF-8: 400 above); the model must still refuse it, or storing the id would fail after
    acceptance."""
    body = encode(completed("placeholder")).replace(b'"placeholder"', b'"evt-\\ud800"')
    [item] = parse_body(body).items
    assert item.event is None
    assert [e["path"] for e in item.errors] == ["id"]


@pytest.mark.parametrize("body", [b"", b"   ", b"{", b"not json", b'{"id": "a",}', b"{'id': 1}"])
def test_not_json_is_400(body: bytes) -> None:
    error = body_error(body)
    assert isinstance(error, BodyUnreadable)
    assert "not valid JSON" in error.message


def test_deeply_nested_json_is_a_body_error() -> None:
    with pytest.raises(BodyError):
        parse_body(b'{"events": [' + b"[" * 5000 + b"]" * 5000 + b"]}")


def test_only_the_union_tag_is_dropped_from_paths() -> None:
    event = sample_event("governance_alert")
    event["data"]["details"] = {"task.assigned": 5}
    [item] = parse_body(encode(event)).items
    assert [e["path"] for e in item.errors] == ["data.details.task.assigned"]


@pytest.mark.parametrize("codec", ["utf-8-sig", "utf-16", "utf-16-le", "utf-32", "utf-32-be"])
def test_bodies_not_in_plain_utf8_are_unreadable(codec: str) -> None:
    """Finding 11a of issue 20: contract §1 says UTF-8 without a BOM, else 400."""
    error = body_error(json.dumps(completed("evt-enc-1")).encode(codec))
    assert isinstance(error, BodyUnreadable)
    assert "UTF-8" in error.message
