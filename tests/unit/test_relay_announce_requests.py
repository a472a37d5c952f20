"""What the relay's listener refuses before it reads Content Server or posts anything: a wrong
token, a body it cannot read, ids that are not positive integers. The WSGI app is called
directly with a Content Server and a webhook that record every call (the HTTP round trip and the
accepted paths: tests/integration/test_relay.py)."""

from __future__ import annotations

import io
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from ecmpush.domain.ecm.model import ActiveWorkflow, WorkflowStatus
from senders.relay.config import RelayConfig
from senders.relay.forward import forward_app

TOKEN = "relay-token"
FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
GOOD = "process_id=4920&subprocess_id=4920&task_id=1"


class Untouched:
    """A Content Server and a webhook that must not be called."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def active_workflows(
        self, *, map_id: int | str | None = None, budget_s: float | None = None
    ) -> list[ActiveWorkflow]:
        self.calls.append("active_workflows")
        return []

    def workflow_status(
        self, process_id: str | int, *, budget_s: float | None = None
    ) -> WorkflowStatus:
        self.calls.append("workflow_status")
        return WorkflowStatus(str(process_id), "ontime", None, ())

    def deliver(self, events: Sequence[Mapping[str, Any]]) -> dict[str, str]:
        self.calls.append("deliver")
        return {}


@pytest.fixture
def untouched() -> Untouched:
    return Untouched()


def _call(
    tmp_path: Path,
    untouched: Untouched,
    body: bytes,
    *,
    content_type: str = FORM,
    authorization: str | None = f"Bearer {TOKEN}",
    content_length: str | None = None,
    path: str = "/steps",
    method: str = "POST",
) -> tuple[int, dict[str, str], dict[str, Any]]:
    config = RelayConfig(
        webhook_url="http://127.0.0.1:9",
        webhook_secret="s",
        tenant="acme",
        ecm_base_url="http://127.0.0.1:9",
        ecm_secret={},
        state_file=tmp_path / "state.json",
        maps={},
        forward_token=TOKEN,
    )
    app = forward_app(config, untouched, deliver=untouched.deliver)
    environ: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "CONTENT_TYPE": content_type,
        "CONTENT_LENGTH": str(len(body)) if content_length is None else content_length,
        "wsgi.input": io.BytesIO(body),
    }
    if authorization is not None:
        environ["HTTP_AUTHORIZATION"] = authorization
    started: list[Any] = []
    payload = b"".join(app(environ, lambda status, headers: started.append((status, headers))))
    ((status, headers),) = started
    return int(status.split()[0]), dict(headers), json.loads(payload)


@pytest.mark.parametrize(
    "authorization",
    [None, "", "Bearer nope", f"bearer {TOKEN}", TOKEN, f"Bearer {TOKEN} ", f"Basic {TOKEN}"],
)
def test_a_missing_or_wrong_token_is_401(
    tmp_path: Path, untouched: Untouched, authorization: str | None
) -> None:
    status, _, body = _call(tmp_path, untouched, GOOD.encode(), authorization=authorization)
    assert (status, body) == (401, {"error": "missing or wrong bearer token"})
    assert untouched.calls == []
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("body", "content_type", "status", "fields"),
    [
        ("process_id=4920&subprocess_id=4920", FORM, 400, ["task_id"]),
        ("", FORM, 400, ["process_id", "subprocess_id", "task_id"]),
        ("process_id=4920&subprocess_id=4920&task_id=0", FORM, 400, ["task_id"]),
        ("process_id=-4920&subprocess_id=4920&task_id=1", FORM, 400, ["process_id"]),
        ("process_id=%2B4920&subprocess_id=4920&task_id=1", FORM, 400, ["process_id"]),
        ("process_id=4920&subprocess_id=4920&task_id=1.5", FORM, 400, ["task_id"]),
        ("process_id=4920&subprocess_id=4920&task_id=%201", FORM, 400, ["task_id"]),
        ("process_id=4920&subprocess_id=4920&task_id=1%0A", FORM, 400, ["task_id"]),
        ("process_id=4920&subprocess_id=4920&task_id=1e3", FORM, 400, ["task_id"]),
        ("process_id=4920&subprocess_id=4920&task_id=", FORM, 400, ["task_id"]),
        ("process_id=04920&subprocess_id=4920&task_id=1", FORM, 400, ["process_id"]),
        ("process_id=4920&subprocess_id=4920&task_id=" + "9" * 19, FORM, 400, ["task_id"]),
        ("process_id=4920&subprocess_id=4920&task_id=\uff11", FORM, 400, ["task_id"]),
        ("process_id=4920&subprocess_id=4920&task_id=%EF%BC%91", FORM, 400, ["task_id"]),
        ("process_id=4920&subprocess_id=4920&task_id=1&task_id=2", FORM, 400, ["task_id"]),
        ("process_id=4920&subprocess_id=4920&task_id=1&title=x", FORM, 400, ["title"]),
        ("process_id=4920&subprocess_id=4920&task_id=1&x=1&y=2", FORM, 400, None),
        ("process_id=4920;subprocess_id=4920;task_id=1", FORM, 400, None),
        ("process_id=4920&subprocess_id=4920&task_id=1&", FORM, 400, None),
        ("process_id&subprocess_id=4920&task_id=1", FORM, 400, None),
        ('{"process_id": 4920, "subprocess_id": 4920, "task_id": true}', JSON, 400, ["task_id"]),
        ('{"process_id": 4920, "subprocess_id": 4920, "task_id": -1}', JSON, 400, ["task_id"]),
        ('{"process_id": 4920, "subprocess_id": 4920, "task_id": 1.0}', JSON, 400, ["task_id"]),
        ('{"process_id": 4920, "subprocess_id": 4920, "task_id": null}', JSON, 400, ["task_id"]),
        ('{"process_id": 4920, "subprocess_id": 4920, "task_id": [1]}', JSON, 400, ["task_id"]),
        ('{"process_id": 4920, "subprocess_id": 4920, "task_id": 1, "x": 1}', JSON, 400, ["x"]),
        ("[4920, 4920, 1]", JSON, 400, None),
        ('{"process_id": 4920,', JSON, 400, None),
        ("NaN", JSON, 400, None),
        (GOOD, "text/plain", 415, None),
        (GOOD, "", 415, None),
        (GOOD, "multipart/form-data; boundary=x", 415, None),
        (GOOD, f"{FORM}; charset=latin-1", 415, None),
        (GOOD + "&" + "x" * 1024, FORM, 413, None),
    ],
)
def test_a_body_that_does_not_name_one_step_by_three_positive_ids_is_refused(
    tmp_path: Path,
    untouched: Untouched,
    body: str,
    content_type: str,
    status: int,
    fields: list[str] | None,
) -> None:
    answered, _, answer = _call(tmp_path, untouched, body.encode(), content_type=content_type)
    assert answered == status, answer
    assert answer["error"]
    if fields is not None:
        assert answer["fields"] == fields
    assert untouched.calls == []
    assert list(tmp_path.iterdir()) == []


def test_not_utf8_is_400(tmp_path: Path, untouched: Untouched) -> None:
    status, _, answer = _call(tmp_path, untouched, b"process_id=\xff&subprocess_id=1&task_id=1")
    assert (status, answer["error"]) == (400, "body is not UTF-8")
    assert untouched.calls == []


@pytest.mark.parametrize(
    ("content_length", "status"),
    [("", 411), ("-5", 400), ("5x", 400), ("1e3", 400), ("999999999999", 413), ("2000", 413)],
)
def test_a_missing_or_lying_content_length_is_refused_without_reading_on(
    tmp_path: Path, untouched: Untouched, content_length: str, status: int
) -> None:
    answered, _, _ = _call(tmp_path, untouched, GOOD.encode(), content_length=content_length)
    assert answered == status
    assert untouched.calls == []


def test_a_body_shorter_than_its_content_length_is_400(
    tmp_path: Path, untouched: Untouched
) -> None:
    status, _, answer = _call(tmp_path, untouched, GOOD.encode(), content_length="100")
    assert (status, answer["error"]) == (400, "body shorter than its Content-Length")
    assert untouched.calls == []


def test_the_ids_as_json_strings_or_numbers_and_a_trailing_newline_are_read(
    tmp_path: Path, untouched: Untouched
) -> None:
    """Accepted requests reach Content Server (here: a workflow without that step)."""
    for body, content_type in [
        (GOOD + "\r\n", FORM),
        ('{"process_id": "4920", "subprocess_id": 4920, "task_id": 1}', JSON),
        (GOOD, f"{FORM}; charset=UTF-8"),
    ]:
        status, _, answer = _call(tmp_path, untouched, body.encode(), content_type=content_type)
        assert (status, answer["status"], answer["step"]) == (404, "unknown_step", "4920/4920/1")
    assert untouched.calls == ["workflow_status"] * 3


@pytest.mark.parametrize(("path", "method", "status"), [("/", "POST", 404), ("/steps", "GET", 405)])
def test_other_routes_and_methods(
    tmp_path: Path, untouched: Untouched, path: str, method: str, status: int
) -> None:
    answered, _, _ = _call(tmp_path, untouched, GOOD.encode(), path=path, method=method)
    assert answered == status
    assert untouched.calls == []
