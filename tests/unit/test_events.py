"""The contract §1 event models: every sample validates; shape is strict (no extra fields at any
level, bounded and stripped strings, aware timestamps, http(s) links only)."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, get_args

import pytest
from pydantic import ValidationError
from pydantic_core import ErrorDetails

from ecmpush.domain.intake.events import (
    EVENT_TYPES,
    DocumentAvailable,
    DocumentPublished,
    EcmEvent,
    GovernanceAlert,
    RecordExpiryScheduled,
    TaskAssigned,
    TaskCompleted,
    event_adapter,
)
from tests.conftest import EVENTS, sample_event

SAMPLES = {
    "task_assigned": TaskAssigned,
    "task_completed": TaskCompleted,
    "record_expiry_scheduled": RecordExpiryScheduled,
    "document_available": DocumentAvailable,
    "document_published": DocumentPublished,
    "governance_alert": GovernanceAlert,
}


def validate(raw: dict[str, Any]) -> EcmEvent:
    return event_adapter.validate_python(raw)


def errors(raw: dict[str, Any]) -> list[ErrorDetails]:
    with pytest.raises(ValidationError) as info:
        validate(raw)
    return info.value.errors(include_url=False)


def error_paths(raw: dict[str, Any]) -> list[tuple[Any, ...]]:
    """Locations without the union tag, e.g. ('data', 'task', 'due_at')."""
    return [tuple(e["loc"][1:]) for e in errors(raw)]


def test_every_event_file_is_covered() -> None:
    names = {path.stem for path in EVENTS.joinpath("ecm").glob("*.json")}
    assert names == {*SAMPLES, "batch"}
    declared = {get_args(model.model_fields["type"].annotation)[0] for model in SAMPLES.values()}
    assert declared == set(EVENT_TYPES)


@pytest.mark.parametrize(("name", "model"), SAMPLES.items())
def test_sample_event_validates_as_its_type(name: str, model: type) -> None:
    raw = sample_event(name)
    event = validate(raw)
    assert isinstance(event, model)
    assert event.id == raw["id"]
    assert event.type == raw["type"]
    assert event.occurred_at.tzinfo is not None


def test_batch_sample_items_validate() -> None:
    events = [validate(raw) for raw in sample_event("batch")["events"]]
    assert [type(e) for e in events] == [TaskCompleted, GovernanceAlert]


def test_task_assigned_sample_reads_every_field() -> None:
    event = validate(sample_event("task_assigned"))
    assert isinstance(event, TaskAssigned)
    task = event.data.task
    assert task.stage == "approval"
    assert task.priority == "high"
    assert task.due_at == datetime(2026, 12, 1, 17, 0, tzinfo=UTC)
    assert event.data.assignee.user_id == "asmith"
    assert event.data.supervisor is not None
    assert event.data.supervisor.user_id == "bjones"
    assert event.data.document is not None
    assert event.data.document.url == "https://ecm.example.com/otcs/cs.exe/app/nodes/90210"


def test_optional_fields_take_their_defaults() -> None:
    raw = sample_event("task_assigned")
    for key in ("instructions", "due_at", "priority"):
        del raw["data"]["task"][key]
    for key in ("document", "supervisor", "backup"):
        del raw["data"][key]
    event = validate(raw)
    assert isinstance(event, TaskAssigned)
    assert event.data.task.priority == "normal"
    assert event.data.task.due_at is None
    assert event.data.document is None


def test_events_are_immutable() -> None:
    event = validate(sample_event("task_completed"))
    with pytest.raises(ValidationError):
        event.id = "other"  # type: ignore[misc]


def test_task_key_uses_the_stripped_ids() -> None:
    raw = sample_event("task_completed")
    raw["data"]["task"] = {"process_id": " 1 ", "subprocess_id": "2\n", "task_id": "\t3"}
    event = validate(raw)
    assert isinstance(event, TaskCompleted)
    assert event.data.task.key == "1/2/3"


# --- timestamps ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "path"),
    [
        ("task_assigned", ("occurred_at",)),
        ("task_assigned", ("data", "task", "due_at")),
        ("record_expiry_scheduled", ("data", "record", "expires_at")),
    ],
)
@pytest.mark.parametrize("naive", ["2026-11-28T10:00:00", "2026-11-28 10:00:00", "2026-11-28"])
def test_naive_timestamps_are_refused(name: str, path: tuple[str, ...], naive: str) -> None:
    raw = sample_event(name)
    target = raw
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = naive
    assert error_paths(raw) == [path]


@pytest.mark.parametrize(
    ("text", "offset"),
    [
        ("2026-11-28T10:00:00Z", timedelta(0)),
        ("2026-11-28T10:00:00+00:00", timedelta(0)),
        ("2026-11-28T11:00:00+01:00", timedelta(hours=1)),
        ("2026-11-28T04:30:00-05:30", timedelta(hours=-5, minutes=-30)),
    ],
)
def test_aware_timestamps_keep_their_offset(text: str, offset: timedelta) -> None:
    raw = sample_event("task_completed")
    raw["occurred_at"] = text
    event = validate(raw)
    assert event.occurred_at.utcoffset() == offset
    assert event.occurred_at.astimezone(UTC).date() == datetime(2026, 11, 28).date()


@pytest.mark.parametrize("value", ["yesterday", "", "2026-13-01T00:00:00Z", None, []])
def test_unparseable_timestamps_are_refused(value: object) -> None:
    raw = sample_event("task_completed")
    raw["occurred_at"] = value
    assert error_paths(raw) == [("occurred_at",)]


@pytest.mark.parametrize("value", [1_764_324_000, 1_764_324_000.0, "1764324000"])
def test_unix_numbers_are_not_rfc3339(value: object) -> None:
    raw = sample_event("task_completed")
    raw["occurred_at"] = value
    assert error_paths(raw) == [("occurred_at",)]


# --- strings: stripped and bounded --------------------------------------------------------------


def test_ids_and_names_are_stripped() -> None:
    raw = sample_event("task_assigned")
    raw["id"] = "  evt-1  "
    raw["tenant"] = "\tacme\n"
    raw["data"]["task"]["title"] = "  Approve it  "
    raw["data"]["assignee"]["user_id"] = " asmith "
    event = validate(raw)
    assert isinstance(event, TaskAssigned)
    assert (event.id, event.tenant) == ("evt-1", "acme")
    assert event.data.task.title == "Approve it"
    assert event.data.assignee.user_id == "asmith"


@pytest.mark.parametrize(
    "path",
    [("id",), ("tenant",), ("data", "assignee", "user_id"), ("data", "task", "title")],
)
@pytest.mark.parametrize("blank", ["", "   ", "\n\t"])
def test_blank_required_strings_are_refused(path: tuple[str, ...], blank: str) -> None:
    raw = sample_event("task_assigned")
    target = raw
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = blank
    assert error_paths(raw) == [path]


def _set(raw: dict[str, Any], path: tuple[str, ...], value: object) -> dict[str, Any]:
    raw = copy.deepcopy(raw)
    target = raw
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return raw


@pytest.mark.parametrize(
    ("name", "path", "limit"),
    [
        ("task_assigned", ("id",), 128),
        ("task_assigned", ("tenant",), 128),
        ("task_assigned", ("data", "document", "node_id"), 128),
        ("task_assigned", ("data", "task", "title"), 512),
        ("task_assigned", ("data", "document", "name"), 512),
        ("task_assigned", ("data", "task", "instructions"), 4000),
        ("governance_alert", ("data", "summary"), 1000),
        ("governance_alert", ("data", "details", "attempts"), 4000),
    ],
)
def test_strings_are_bounded(name: str, path: tuple[str, ...], limit: int) -> None:
    raw = sample_event(name)
    validate(_set(raw, path, "x" * limit))
    assert error_paths(_set(raw, path, "x" * (limit + 1))) == [path]


def test_length_is_measured_after_stripping() -> None:
    raw = _set(sample_event("task_assigned"), ("id",), "  " + "x" * 128 + "  ")
    assert validate(raw).id == "x" * 128


def test_url_length_is_bounded() -> None:
    raw = sample_event("document_published")
    url = "https://portal.example.com/" + "a" * (2048 - len("https://portal.example.com/"))
    validate(_set(raw, ("data", "document", "url"), url))
    assert error_paths(_set(raw, ("data", "document", "url"), url + "a")) == [
        ("data", "document", "url")
    ]


# --- extra fields at every level ----------------------------------------------------------------


def _object_paths(value: object, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every JSON object in an event, except governance details (a free-form str→str map)."""
    if isinstance(value, dict):
        if path[-1:] != ("details",):
            yield path
        for key, child in value.items():
            yield from _object_paths(child, (*path, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from _object_paths(child, (*path, index))


def _extra_field_cases() -> Iterator[Any]:
    for name in SAMPLES:
        for path in _object_paths(sample_event(name)):
            yield pytest.param(name, path, id=f"{name}:{'.'.join(map(str, path)) or '<top>'}")


@pytest.mark.parametrize(("name", "path"), list(_extra_field_cases()))
def test_extra_fields_are_refused_at_every_level(name: str, path: tuple[Any, ...]) -> None:
    raw = sample_event(name)
    target: Any = raw
    for key in path:
        target = target[key]
    target["unexpected"] = "x"
    [error] = errors(raw)
    assert error["type"] == "extra_forbidden"
    assert tuple(error["loc"][1:]) == (*path, "unexpected")


def test_extra_field_cases_reach_nested_lists() -> None:
    paths = {p for name in SAMPLES for p in _object_paths(sample_event(name))}
    assert ("data", "owners", 0) in paths
    assert ("data", "audience", "users", 0) in paths
    assert ("data", "task") in paths


# --- urls ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "https://ecm.example.com/otcs/cs.exe/app/nodes/1",
        "http://intranet/nodes/1?x=1#frag",
        "https://a",
    ],
)
def test_http_and_https_urls_are_accepted(url: str) -> None:
    event = validate(_set(sample_event("document_published"), ("data", "document", "url"), url))
    assert isinstance(event, DocumentPublished)
    assert event.data.document.url == url


@pytest.mark.parametrize(
    "url",
    [
        "ftp://ecm.example.com/file",
        "javascript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "file:///etc/passwd",
        "//ecm.example.com/nodes/1",
        "ecm.example.com/nodes/1",
        "https://",
        "https://ecm.example.com/a b",
        "https://ecm.example.com/\n",
        " https://ecm.example.com/",
        "HTTPS://ECM.EXAMPLE.COM/",
        "",
    ],
)
@pytest.mark.parametrize(
    ("name", "path"),
    [
        ("document_published", ("data", "document", "url")),
        ("task_assigned", ("data", "document", "url")),
        ("record_expiry_scheduled", ("data", "record", "url")),
    ],
)
def test_other_urls_are_refused(url: str, name: str, path: tuple[str, ...]) -> None:
    assert error_paths(_set(sample_event(name), path, url)) == [path]


# --- enums and lists ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "path", "value"),
    [
        ("task_assigned", ("data", "task", "stage"), "sign_off"),
        ("task_assigned", ("data", "task", "priority"), "urgent"),
        ("record_expiry_scheduled", ("data", "record", "kind"), "lease"),
        ("record_expiry_scheduled", ("data", "owners"), []),
        ("record_expiry_scheduled", ("data", "notify_roles"), ["ceo"]),
        ("document_available", ("data", "category"), "memo"),
        ("document_published", ("data", "kind"), "invoice"),
        ("document_published", ("data", "audience", "external_ids"), []),
        ("governance_alert", ("data", "severity"), "fatal"),
        ("governance_alert", ("data", "kind"), "other"),
        ("governance_alert", ("data", "summary"), ""),
        ("governance_alert", ("data", "details"), {"k": 1}),
    ],
)
def test_values_outside_the_contract_are_refused(
    name: str, path: tuple[str, ...], value: object
) -> None:
    paths = error_paths(_set(sample_event(name), path, value))
    assert paths
    assert all(p[: len(path)] == path for p in paths)


def test_type_of_one_event_with_data_of_another_is_refused() -> None:
    raw = sample_event("task_completed")
    raw["data"] = sample_event("governance_alert")["data"]
    paths = error_paths(raw)
    assert ("data", "task") in paths
    assert ("data", "kind") in paths


@pytest.mark.parametrize(
    ("value", "accepted"),
    [
        ("2000-01-01T00:00:00Z", True),
        ("2100-12-31T23:59:59.999999Z", True),
        ("2101-01-01T00:30:00+01:00", True),  # 2100-12-31T23:30Z
        ("1999-12-31T23:59:59Z", False),
        ("2000-01-01T00:30:00+01:00", False),  # 1999-12-31T23:30Z
        ("2101-01-01T00:00:00Z", False),
        ("9999-12-31T23:59:59Z", False),
        ("0001-01-01T00:00:00Z", False),
    ],
)
def test_every_event_time_lies_in_the_years_2000_to_2100_utc(value: str, accepted: bool) -> None:
    """Issue 20 finding 6: one bounded type for occurred_at, due_at and expires_at."""
    for name, path in (
        ("task_assigned", ("data", "task", "due_at")),
        ("record_expiry_scheduled", ("data", "record", "expires_at")),
        ("document_available", ("occurred_at",)),
    ):
        raw = sample_event(name)
        node = raw
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value
        if accepted:
            validate(raw)
            continue
        with pytest.raises(ValidationError) as info:
            validate(raw)
        [error] = info.value.errors()
        assert error["loc"][1:] == path
        assert "2000 to 2100" in error["msg"]
