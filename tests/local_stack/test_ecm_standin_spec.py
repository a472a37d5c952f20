"""The Content Server stand-in's answers checked against OpenText's REST API 2.0.2 document.

Every route ecmpush calls (client and relay) is asked as the client asks it; each 200 body is
validated with jsonschema against the route's response schema in the vendored part of the
document (tests/fixtures/otcs/rest_api_2.0.2_subset.json, cut by rest_api_subset.py), and each
refusal the stand-in gives must be a status and text the document lists for that route. So a
stand-in that drifts from the documented shapes (a list where the document has an object, a
404 where it answers 400) fails here, and with it every test that trusted the stand-in.

Two readings are applied to the document, and said here:
- a value may be null where the document names a type: real answers carry nulls the document
  does not mark (`"message": null` in pyxecm's task form example), and a null is never read as
  a value by the client;
- `CORRECTIONS` replaces a few schemas with the shape the document itself contradicts, each with
  the source that shows it (pyxecm's examples and reads, the otcs-mcp client). The client reads
  both shapes where the sources disagree (docs/ecm.md).
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator  # type: ignore[import-untyped]
from werkzeug.test import Client

from devstack.ecm_standin import EcmStandIn, create_ecm_standin
from ecmpush.adapters.ecm.client import select_regions, send_on_form
from ecmpush.domain.replies.dispositions import DispositionKind
from tests.integration.ecm_steps import AUTHENTICATED_TASK, GROUP_TASK

SPEC: dict[str, Any] = json.loads(
    (
        Path(__file__).resolve().parents[1] / "fixtures" / "otcs" / "rest_api_2.0.2_subset.json"
    ).read_text(encoding="utf-8")
)
REF = "#/components/schemas/"

# schema name → property → replacement, and why the document is not followed there.
CORRECTIONS: dict[str, dict[str, tuple[dict[str, Any], str]]] = {
    "nodes_V2ResponseElement": {
        "results": (
            {
                "type": "object",
                "properties": {
                    "data": {
                        "type": "object",
                        "properties": {
                            "properties": {"$ref": REF + "nodes_V2Properties"},
                            "categories": {"type": "array", "items": {"type": "object"}},
                        },
                    }
                },
            },
            "pyxecm get_node's example answer: results.data.properties is one object",
        ),
        "links": ({"type": "object"}, "pyxecm get_node's example answer: links is an object"),
    },
    "members_V2ResponseBrowseMembersSearch": {
        "collection": (
            {
                "type": "object",
                "properties": {
                    "paging": {"$ref": REF + "members_V2Paging"},
                    "sorting": {"type": "object"},
                },
            },
            "pyxecm get_group_members_iterator reads collection.paging.total_count",
        ),
        "results": (
            {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "data": {
                            "type": "object",
                            "properties": {
                                "properties": {"$ref": REF + "members_V2PropertiesMembersSearch"}
                            },
                        }
                    },
                },
            },
            "pyxecm reads a member as results[].data.properties, one object (as for nodes)",
        ),
        "links": ({"type": "object"}, "as the other v2 answers pyxecm shows"),
    },
    "worflow_active_result": {
        "results": (
            {
                "anyOf": [
                    {"$ref": REF + "workflow_active_properties"},
                    {"type": "array", "items": {"$ref": REF + "workflow_active_properties"}},
                ]
            },
            "the document names one row; the otcs-mcp client reads a list of rows",
        ),
        "links": ({"type": ["array", "object"]}, "a list in the document, an object elsewhere"),
    },
    "search_searchMetadataResultsData": {
        "result_type": (
            {"type": ["integer", "string"]},
            "pyxecm search's example answer: 'result_type': '264'",
        ),
        "source_id": (
            {"type": ["integer", "string"]},
            "pyxecm search's example answer: 'source_id': '2275'",
        ),
    },
    "search_dataResultsData": {
        "regions": (
            {"type": ["string", "object"]},
            "typed string, but select's text says the regions 'section' changes with the "
            "regions asked: the client reads an object (or a JSON object in a string)",
        ),
    },
}

# Refusals whose text the document lists under another route than the one answering it.
ERROR_TEXT_ELSEWHERE = {
    ("GET", "/v2/processes/{process_id}/subprocesses/{subprocess_id}/activities", 400): (
        "/v2/workflows/status/processes/{process_id}",
        "the document lists only \"Argument 'id' is required\"; its status route's 400 is the "
        "answer for an unknown process (issue 21 §3), to confirm on a real server",
    ),
}


def _nullable(node: Any) -> Any:
    if isinstance(node, dict):
        out = {k: _nullable(v) for k, v in node.items()}
        kind = out.get("type")
        if isinstance(kind, str):
            out["type"] = [kind, "null"]
        elif isinstance(kind, list) and "null" not in kind:
            out["type"] = [*kind, "null"]
        return out
    if isinstance(node, list):
        return [_nullable(v) for v in node]
    return node


def _schemas() -> dict[str, Any]:
    schemas = copy.deepcopy(SPEC["components"]["schemas"])
    for name, fixes in CORRECTIONS.items():
        for prop, (replacement, _why) in fixes.items():
            assert prop in schemas[name]["properties"], (name, prop)  # the document moved
            schemas[name]["properties"][prop] = replacement
    return {name: _nullable(schema) for name, schema in schemas.items()}


SCHEMAS = _schemas()


def _operation(method: str, route: str) -> dict[str, Any]:
    operation: dict[str, Any] = SPEC["paths"][route][method.lower()]
    return operation


def validate(method: str, route: str, body: Any) -> list[str]:
    """Where `body` breaks the route's documented 200 schema (empty when it does not)."""
    response = _operation(method, route)["responses"]["200"]
    schema = response["content"]["application/json"]["schema"]
    root = {"components": {"schemas": SCHEMAS}, **_nullable(schema)}
    validator = Draft202012Validator(root)
    return [f"{e.json_path}: {e.message[:160]}" for e in validator.iter_errors(body)]


def documented_texts(method: str, route: str, status: int) -> list[re.Pattern[str]]:
    """The error texts the document lists for `status` ("- text" lines), as patterns in which
    a `{placeholder}` stands for any value."""
    description = _operation(method, route)["responses"].get(str(status), {}).get("description")
    if description is None:
        return []
    lines = [line.strip().lstrip("-").strip() for line in str(description).splitlines()]
    return [
        re.compile(re.sub(r"\\\{\w+\\\}", r"[^,\\s]+", re.escape(line)) + r"\.?")
        for line in lines
        if line
    ]


# -- the stand-in, asked as the client asks ------------------------------------------------------


Standin = tuple[Client, Callable[[str], dict[str, str]], EcmStandIn]


@pytest.fixture
def standin() -> Standin:
    app = create_ecm_standin()
    app.seed({"tasks": [GROUP_TASK]})
    client = Client(app)

    def login(user: str) -> dict[str, str]:
        answer = client.post("/api/v1/auth", data={"username": user, "password": f"{user}-local"})
        assert answer.status_code == 200
        return {"OTCSTicket": answer.get_json()["ticket"]}

    return client, login, app


def _ok(answer: Any) -> Any:
    assert answer.status_code == 200, answer.get_data(as_text=True)
    return answer.get_json()


STATUS = "/v2/workflows/status/processes/{process_id}"
ACTIVE = "/v2/workflows/status/active"
ACTIVITIES = "/v2/processes/{process_id}/subprocesses/{subprocess_id}/activities"
FORM = "/v1/forms/processes/tasks/update"
SEND_ON = "/v2/processes/{process_id}/subprocesses/{subprocess_id}/tasks/{task_id}"
ACCEPT = (
    "/v2/mobilegroupassignment/accept/taskid/{task_id}/processid/{process_id}"
    "/subprocessid/{subprocess_id}"
)
NODE = "/v2/nodes/{id}"
SEARCH = "/v2/search"
MEMBERS = "/v2/members/{id}/members"
ASSIGNMENTS = "/v2/members/assignments"
CONTENT = "/v2/nodes/{id}/content"


def test_every_answer_ecmpush_reads_has_the_documented_shape(
    standin: Standin,
) -> None:
    client, login, _ = standin
    service, asmith, cwu = login("svc-ecmpush"), login("asmith"), login("cwu")
    answers: list[tuple[str, str, Any]] = [
        ("POST", "/v1/auth", _ok(client.post("/api/v1/auth", data={"username": "cwu",
                                                                   "password": "cwu-local"}))),
        ("GET", "/v1/auth", _ok(client.get("/api/v1/auth", headers=asmith))),
        ("GET", FORM, _ok(client.get(f"/api{FORM}", headers=asmith,
                                     query_string={"process_id": 4711, "subprocess_id": 4711,
                                                   "task_id": 1}))),
        ("GET", STATUS, _ok(client.get("/api/v2/workflows/status/processes/4711",
                                       headers=service))),
        ("GET", STATUS, _ok(client.get("/api/v2/workflows/status/processes/4710",
                                       headers=service))),
        ("GET", ACTIVE, _ok(client.get(f"/api{ACTIVE}", headers=service,
                                       query_string={"mapObjId": 30000}))),
        ("POST", ACCEPT, _ok(client.post(
            "/api/v2/mobilegroupassignment/accept/taskid/1/processid/4800/subprocessid/4800",
            headers=cwu))),
        ("POST", ACCEPT, _ok(client.post(  # accept: false, another member has it
            "/api/v2/mobilegroupassignment/accept/taskid/1/processid/4800/subprocessid/4800",
            headers=asmith))),
        ("GET", NODE, _ok(client.get("/api/v2/nodes/30501", headers=service,
                                     query_string=[("fields", "properties"),
                                                   ("fields", "categories")]))),
        ("POST", SEARCH, _ok(client.post(f"/api{SEARCH}", headers=service, data={
            "where": "Attr_30100_2:contract", "lookfor": "complexquery", "page": "1",
            "limit": "2", "select": select_regions(["OTName", "Attr_30100_3"])}))),
        ("POST", SEARCH, _ok(client.post(f"/api{SEARCH}", headers=service, data={
            "where": "Attr_30100_2:contract", "lookfor": "complexquery"}))),
        ("GET", MEMBERS, _ok(client.get("/api/v2/members/20001/members", headers=service,
                                        query_string={"where_type": 0, "limit": 100,
                                                      "page": 1}))),
        ("GET", MEMBERS, _ok(client.get("/api/v2/members/20001/members", headers=service,
                                        query_string={"where_type": 1, "limit": 100,
                                                      "page": 1}))),
        # Without `expand`: expanded, `from_user_id` is the sender's member record instead.
        ("GET", ASSIGNMENTS, _ok(client.get(f"/api{ASSIGNMENTS}", headers=asmith))),
        ("GET", NODE, _ok(client.get("/api/v2/nodes/88001", headers=asmith,
                                     query_string={"fields": "properties"}))),
    ]  # fmt: skip
    sent = client.put(
        "/api/v2/processes/4711/subprocesses/4711/tasks/1",
        data=send_on_form(DispositionKind.CUSTOM_ACTION, "Approve", "checked"),
        headers=asmith,
    )
    assert sent.status_code == 200  # the document gives no 200 body: nothing read from it
    answers.append(
        (
            "GET",
            ACTIVITIES,
            _ok(client.get("/api/v2/processes/4711/subprocesses/4711/activities", headers=service)),
        )
    )
    assert answers[-1][2]["results"]["data"]  # the approval is in the history
    broken = {
        f"{method} {route} #{i}": errors
        for i, (method, route, body) in enumerate(answers)
        if (errors := validate(method, route, body))
    }
    assert broken == {}


def test_the_validation_catches_the_shapes_the_document_does_not_allow() -> None:
    """The check above can fail: wrong types and shapes are refused. (The document marks no
    field required, so a missing `accept` passes here; the client refuses it itself.)"""
    assert validate("POST", ACCEPT, {"results": {"success": True}}) == []
    assert validate("POST", ACCEPT, {"results": {"accept": "yes"}})
    assert validate("POST", ACCEPT, {"results": []})
    assert validate("GET", STATUS, {"results": {"step_list": {"current": {}}}})
    assert validate("POST", SEARCH, {"results": [{"data": {"regions": []}}]})
    assert validate("GET", ACTIVITIES, {"results": [{"data": []}]})
    assert validate("GET", ASSIGNMENTS, {"results": {"data": {"assignments": []}}})
    assert validate("GET", ASSIGNMENTS, {"results": [{"data": [{"assignments": [{"id": "x"}]}]}]})


@pytest.mark.parametrize(
    ("method", "path", "user", "data", "route", "status"),
    [
        ("GET", f"/api{FORM}?process_id=1&subprocess_id=1&task_id=1", "asmith", None, FORM, 500),
        ("GET", f"/api{FORM}?process_id=4711&subprocess_id=4711&task_id=1", "cwu", None, FORM,
         500),
        ("GET", "/api/v2/workflows/status/processes/1", "svc-ecmpush", None, STATUS, 400),
        ("GET", "/api/v2/workflows/status/processes/4711", "dlee", None, STATUS, 400),
        ("GET", "/api/v2/processes/1/subprocesses/1/activities", "svc-ecmpush", None,
         ACTIVITIES, 400),
        ("POST", "/api/v2/mobilegroupassignment/accept/taskid/1/processid/4800/subprocessid/4800",
         "dlee", None, ACCEPT, 400),
        ("POST", "/api/v2/mobilegroupassignment/accept/taskid/1/processid/1/subprocessid/1",
         "cwu", None, ACCEPT, 400),
        ("GET", "/api/v2/nodes/1", "svc-ecmpush", None, NODE, 400),
        ("GET", "/api/v2/nodes/88002", "asmith", None, NODE, 400),
        ("GET", "/api/v2/nodes/1/content", "cwu", None, CONTENT, 500),
        ("GET", "/api/v2/nodes/88001/content", "asmith", None, CONTENT, 500),
        ("GET", "/api/v2/nodes/30400/content", "cwu", None, CONTENT, 500),
        ("GET", "/api/v2/members/999999/members", "svc-ecmpush", None, MEMBERS, 500),
        ("GET", "/api/v2/members/1003/members", "svc-ecmpush", None, MEMBERS, 500),
        ("PUT", "/api/v2/processes/4711/subprocesses/4711/tasks/1", "asmith",
         {"action": "SendOn", "custom_action": "Approve"}, SEND_ON, 400),
        ("PUT", "/api/v2/processes/4900/subprocesses/4900/tasks/1", "asmith",
         {"action": "SendOn", "comment": "no password"}, SEND_ON, 400),
    ],
    ids=["form-unknown", "form-not-holder", "status-unknown", "status-not-visible",
         "activities-unknown", "accept-not-member", "accept-unknown", "node-unknown",
         "node-not-visible", "content-unknown", "content-not-permitted", "content-of-a-folder",
         "group-unknown", "group-is-a-user", "send-on-both", "send-on-no-authentication"],
)  # fmt: skip
def test_refusals_are_the_documented_status_and_text(
    standin: Standin,
    method: str,
    path: str,
    user: str,
    data: dict[str, str] | None,
    route: str,
    status: int,
) -> None:
    client, login, app = standin
    app.seed({"tasks": [AUTHENTICATED_TASK]})
    answer = client.open(path, method=method, data=data, headers=login(user))
    assert answer.status_code == status
    text = answer.get_json()["error"]
    listed_under, _why = ERROR_TEXT_ELSEWHERE.get((method, route, status), (route, ""))
    patterns = documented_texts(method, listed_under, status)
    assert any(p.fullmatch(text) for p in patterns), (text, [p.pattern for p in patterns])


def test_the_clients_send_on_fields_are_the_documents_or_pyxecms() -> None:
    """Without an assignee: only fields the document lists. With one: pyxecm's single `body`
    field, since the document has no `assignee`."""
    schema = _operation("PUT", SEND_ON)["requestBody"]["content"][
        "application/x-www-form-urlencoded"
    ]["schema"]
    documented = set(schema["properties"])
    assert "assignee" not in documented
    for kind, key in ((DispositionKind.ACTION, "SendOn"), (DispositionKind.CUSTOM_ACTION, "Ok")):
        assert set(send_on_form(kind, key, "c")) <= documented
    routed = send_on_form(DispositionKind.ACTION, "Delegate", "c", 1002)
    assert set(routed) == {"body"}
    assert set(json.loads(routed["body"])) <= documented | {"assignee"}
