"""The Content Server stand-in's wire formats and control routes, spoken to with plain requests
the way pyxecm and ECM-side scripts would."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import requests
from werkzeug.test import Client

from devstack.ecm_lql import LqlError, parse_lql
from devstack.ecm_standin import (
    BOTH_ACTIONS_ERROR,
    NO_STATUS_ERROR,
    EcmStandIn,
    create_ecm_standin,
)
from tests.integration.ecm_steps import GROUP_TASK

TIMEOUT = 5
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "otcs"


def login(url: str, user: str = "asmith") -> dict[str, str]:
    answer = requests.post(
        f"{url}/api/v1/auth", data={"username": user, "password": f"{user}-local"}, timeout=TIMEOUT
    )
    assert answer.status_code == 200
    return {"OTCSTicket": answer.json()["ticket"]}


def status(url: str, headers: dict[str, str], p: int) -> requests.Response:
    return requests.get(
        f"{url}/api/v2/workflows/status/processes/{p}", headers=headers, timeout=TIMEOUT
    )


def form(url: str, headers: dict[str, str], p: int, s: int, t: int) -> requests.Response:
    return requests.get(
        f"{url}/api/v1/forms/processes/tasks/update",
        params={"process_id": p, "subprocess_id": s, "task_id": t},
        headers=headers,
        timeout=TIMEOUT,
    )


def test_password_auth_and_ticket_checks(ecm: tuple[EcmStandIn, str]) -> None:
    app, url = ecm
    bad = requests.post(
        f"{url}/api/v1/auth", data={"username": "asmith", "password": "x"}, timeout=TIMEOUT
    )
    assert bad.status_code == 401
    assert "error" in bad.json()

    assert form(url, {}, 4711, 4711, 1).status_code == 401
    assert form(url, {"OTCSTicket": "forged"}, 4711, 4711, 1).status_code == 401
    headers = login(url)
    assert form(url, headers, 4711, 4711, 1).status_code == 200
    me = requests.get(f"{url}/api/v1/auth", headers=headers, timeout=TIMEOUT)
    assert me.json()["data"]["name"] == "asmith"

    app.expire_tickets()
    assert form(url, headers, 4711, 4711, 1).status_code == 401


def test_ticket_lifetime_is_configurable(ecm: tuple[EcmStandIn, str]) -> None:
    app, url = ecm
    assert app.ticket_lifetime_s == 30 * 60
    app.set_faults(ticket_lifetime_s=0)
    assert form(url, login(url), 4711, 4711, 1).status_code == 401
    short = create_ecm_standin(ticket_lifetime_s=5)
    assert short.ticket_lifetime_s == 5


def test_otds_client_credentials_and_ticket_header(ecm: tuple[EcmStandIn, str]) -> None:
    app, url = ecm
    token = requests.post(
        f"{url}/otdsws/oauth2/token",
        data={
            "grant_type": "client_credentials",
            "client_id": "ecmpush",
            "client_secret": "ecmpush-local-secret",
        },
        timeout=TIMEOUT,
    ).json()
    assert token["token_type"] == "Bearer"
    assert token["expires_in"] > 0
    answer = requests.get(
        f"{url}/api/v1/auth",
        headers={"Authorization": f"Bearer {token['access_token']}"},
        timeout=TIMEOUT,
    )
    assert answer.status_code == 200
    assert answer.json()["data"]["name"] == "svc-ecmpush"
    ticket = answer.headers["OTCSTicket"]
    assert status(url, {"OTCSTicket": ticket}, 4711).status_code == 200
    assert app.logins()[-1]["via"] == "bearer"


def test_every_answer_carries_a_refreshed_ticket(ecm: tuple[EcmStandIn, str]) -> None:
    app, url = ecm
    first = login(url)
    answer = form(url, first, 4711, 4711, 1)
    fresh = answer.headers["OTCSTicket"]
    assert fresh
    assert fresh != first["OTCSTicket"]
    assert form(url, {"OTCSTicket": fresh}, 4711, 4711, 1).status_code == 200
    assert [entry["via"] for entry in app.logins()] == ["password"]  # a refresh is no login


def test_otds_token_exchange_acts_as_user(ecm: tuple[EcmStandIn, str]) -> None:
    app, url = ecm
    token = requests.post(
        f"{url}/otdsws/oauth2/token",
        data={
            "grant_type": "urn:ietf:params:oauth:grant-type:token-exchange",
            "subject_token_type": "urn:opentext.com:oauth:string:user_id",
            "subject_token": "asmith@Content Server Members",
            "client_id": "ecmpush",
            "client_secret": "ecmpush-local-secret",
        },
        timeout=TIMEOUT,
    ).json()
    assert token["issued_token_type"] == "urn:ietf:params:oauth:token-type:access_token"
    answer = requests.get(
        f"{url}/api/v1/auth",
        headers={"Authorization": f"Bearer {token['access_token']}"},
        timeout=TIMEOUT,
    )
    assert answer.json()["data"]["name"] == "asmith"
    assert app.logins()[-1] == {"via": "bearer", "user": "asmith", "at": app.logins()[-1]["at"]}


@pytest.mark.parametrize(
    ("fields", "status", "error"),
    [
        ({"client_secret": "wrong"}, 401, "invalid_client"),
        ({"grant_type": "password"}, 400, "unsupported_grant_type"),
        ({"grant_type": "urn:ietf:params:oauth:grant-type:token-exchange"}, 400, "invalid_request"),
    ],
)
def test_otds_errors(
    ecm: tuple[EcmStandIn, str], fields: dict[str, str], status: int, error: str
) -> None:
    _, url = ecm
    data = {
        "grant_type": "client_credentials",
        "client_id": "ecmpush",
        "client_secret": "ecmpush-local-secret",
    } | fields
    answer = requests.post(f"{url}/otdsws/oauth2/token", data=data, timeout=TIMEOUT)
    assert answer.status_code == status
    assert answer.json()["error"] == error


def test_task_form_shape(ecm: tuple[EcmStandIn, str]) -> None:
    _, url = ecm
    body = form(url, login(url), 4711, 4711, 1).json()
    data = body["data"]
    assert {a["key"] for a in data["actions"]} == {"SendOn", "SendForReview", "Delegate"}
    assert data["custom_actions"] == [
        {"key": "Approve", "label": "Approve"},
        {"key": "Reject", "label": "Reject"},
    ]
    for key in ("comments_on", "member_accept", "authentication", "title", "instructions"):
        assert key in data
    assert (data["process_id"], data["subprocess_id"], data["task_id"]) == (4711, 4711, 1)
    assert isinstance(body["forms"], list)


@pytest.mark.parametrize("user", ["dlee", "svc-ecmpush"])
def test_only_the_assignee_opens_or_sends_on_a_step(ecm: tuple[EcmStandIn, str], user: str) -> None:
    app, url = ecm
    headers = login(url, user)
    refused = form(url, headers, 4711, 4711, 1)
    assert refused.status_code == 500
    assert refused.json()["error"] == "Could not get a workflow for 4711, 4711, 1"
    sent = requests.put(
        f"{url}/api/v2/processes/4711/subprocesses/4711/tasks/1",
        data={"custom_action": "Approve", "comment": "not mine"},
        headers=headers,
        timeout=TIMEOUT,
    )
    assert sent.status_code == 500
    assert app.task(4711, 4711, 1)["status"] == "open"


def test_workflow_status_shape_and_who_may_read_it(ecm: tuple[EcmStandIn, str]) -> None:
    _, url = ecm
    body = status(url, login(url, "svc-ecmpush"), 4711).json()["results"]
    (current,) = body["step_list"]["current"]
    assert (current["process_id"], current["subprocess_id"], current["task_id"]) == (4711, 4711, 1)
    assert current["task_assignees"]["assignee"][0]["loginName"] == "asmith"
    assert current["task_assignees"]["assignee"][0]["userId"] == 1001
    assert body["step_list"]["completed"] == []
    assert body["wf_details"]["initiator"] == {
        "firstName": "Bob",
        "lastName": "Jones",
        "loginName": "bjones",
        "userId": 1002,
    }
    assert body["permissions"]["SeeDetail"] is True
    done = status(url, login(url, "svc-ecmpush"), 4710).json()["results"]["step_list"]
    assert (done["current"], len(done["completed"])) == ([], 1)
    assert status(url, login(url, "bjones"), 4711).status_code == 200  # the initiator
    stranger = status(url, login(url, "dlee"), 4711)
    assert (stranger.status_code, stranger.json()["error"]) == (400, NO_STATUS_ERROR)
    unknown = status(url, login(url, "svc-ecmpush"), 1)  # REST API 2.0.2: not a 404
    assert (unknown.status_code, unknown.json()["error"]) == (400, NO_STATUS_ERROR)
    history = requests.get(
        f"{url}/api/v2/processes/1/subprocesses/1/activities",
        headers=login(url, "svc-ecmpush"),
        timeout=TIMEOUT,
    )
    assert (history.status_code, history.json()["error"]) == (400, NO_STATUS_ERROR)


def test_review_needs_an_assignee_inside_body(ecm: tuple[EcmStandIn, str]) -> None:
    """REST API 2.0.2 lists no `assignee` field; pyxecm sends it inside `body=<json>` only."""
    app, url = ecm
    task_url = f"{url}/api/v2/processes/4711/subprocesses/4711/tasks/1"
    headers = login(url)
    plain = requests.put(task_url, data={"action": "SendForReview"}, headers=headers, timeout=5)
    assert plain.status_code == 400
    flat = requests.put(
        task_url, data={"action": "SendForReview", "assignee": "1002"}, headers=headers, timeout=5
    )
    assert flat.status_code == 400
    assert "assignee" in flat.json()["error"]
    mixed = requests.put(
        task_url,
        data={"body": json.dumps({"action": "SendForReview"}), "assignee": "1002"},
        headers=headers,
        timeout=5,
    )
    assert mixed.status_code == 400
    assert app.task(4711, 4711, 1)["status"] == "open"
    body = {"action": "SendForReview", "assignee": "1002", "comment": "?"}
    routed = requests.put(task_url, data={"body": json.dumps(body)}, headers=headers, timeout=5)
    assert routed.status_code == 200
    state = app.task(4711, 4711, 1)
    assert (state["status"], state["review_assignee"]) == ("sent_for_review", "bjones")


def test_a_group_step_is_accepted_before_it_is_sent_on(ecm: tuple[EcmStandIn, str]) -> None:
    app, url = ecm
    app.seed({"tasks": [GROUP_TASK]})
    headers = login(url, "cwu")
    assert form(url, headers, 4800, 4800, 1).json()["data"]["member_accept"] is True
    task_url = f"{url}/api/v2/processes/4800/subprocesses/4800/tasks/1"
    early = requests.put(task_url, data={"action": "SendOn"}, headers=headers, timeout=TIMEOUT)
    assert early.status_code == 400
    accept = f"{url}/api/v2/mobilegroupassignment/accept/taskid/1/processid/4800/subprocessid/4800"
    assert requests.post(accept, headers=headers, timeout=TIMEOUT).status_code == 200
    assert form(url, login(url, "asmith"), 4800, 4800, 1).status_code == 500  # cwu has it now
    sent = requests.put(task_url, data={"action": "SendOn"}, headers=headers, timeout=TIMEOUT)
    assert sent.status_code == 200
    assert app.task(4800, 4800, 1)["acted_by"] == "cwu"


def test_pyxecm_body_field_and_activities(ecm: tuple[EcmStandIn, str]) -> None:
    app, url = ecm
    headers = login(url)
    payload = {"custom_action": "Approve", "comment": "via body"}
    answer = requests.put(
        f"{url}/api/v2/processes/4711/subprocesses/4711/tasks/1",
        data={"body": json.dumps(payload)},
        headers=headers,
        timeout=TIMEOUT,
    )
    assert answer.status_code == 200
    assert "results" in answer.json()
    state = app.task(4711, 4711, 1)
    assert (state["status"], state["disposition_taken"], state["acted_by"]) == (
        "completed",
        "Approve",
        "asmith",
    )
    history = requests.get(
        f"{url}/api/v2/processes/4711/subprocesses/4711/activities",
        headers=headers,
        timeout=TIMEOUT,
    ).json()["results"]["data"]
    assert history == [
        {
            "action": "Approve",
            "action_properties": {"label": "Approve", "event": "disposition"},
            "comment": "via body",
            "date": history[0]["date"],
            "user_id": 1001,
        }
    ]
    closed = form(url, headers, 4711, 4711, 1)
    assert (closed.status_code, closed.json()["error"]) == (
        500,
        "Could not get a workflow for 4711, 4711, 1",
    )


def test_update_errors(ecm: tuple[EcmStandIn, str]) -> None:
    app, url = ecm
    headers = login(url)
    task_url = f"{url}/api/v2/processes/4711/subprocesses/4711/tasks/1"

    def put(data: dict[str, str]) -> requests.Response:
        return requests.put(task_url, data=data, headers=headers, timeout=TIMEOUT)

    both = put({"action": "SendOn", "custom_action": "Approve"})
    assert (both.status_code, both.json()["error"]) == (400, BOTH_ACTIONS_ERROR)
    assert put({"custom_action": "Approved"}).status_code == 400
    assert put({"action": "Approve"}).status_code == 400  # a custom key sent as action
    assert put({"comment": "nothing to do"}).status_code == 400
    assert app.task(4711, 4711, 1)["status"] == "open"

    assert put({"action": "SendOn", "comment": "done"}).status_code == 200
    again = put({"action": "SendOn"})
    assert again.status_code == 500
    assert "completed" in again.json()["error"]
    missing = requests.put(
        f"{url}/api/v2/processes/1/subprocesses/1/tasks/1",
        data={"action": "SendOn"},
        headers=headers,
        timeout=TIMEOUT,
    )
    assert missing.status_code == 404
    unknown_form = form(url, headers, 1, 1, 1)  # REST API 2.0.2: the form's 500
    assert (unknown_form.status_code, unknown_form.json()["error"]) == (
        500,
        "Could not get a workflow for 1, 1, 1",
    )


def test_delegate_and_form_update(ecm: tuple[EcmStandIn, str]) -> None:
    app, url = ecm
    headers = login(url, "cwu")
    task_url = f"{url}/api/v2/processes/4712/subprocesses/4712/tasks/1"
    update = {"action": "formUpdate", "values": {"WorkflowForm_10": "ok"}}
    assert (
        requests.put(
            task_url, data={"body": json.dumps(update)}, headers=headers, timeout=TIMEOUT
        ).status_code
        == 200
    )
    assert app.task(4712, 4712, 1)["form_values"] == {"WorkflowForm_10": "ok"}
    assert app.task(4712, 4712, 1)["status"] == "open"

    assert (
        requests.put(task_url, data={"action": "Delegate"}, headers=headers, timeout=TIMEOUT)
    ).status_code == 400
    flat = {"action": "Delegate", "assignee": "1004"}
    assert requests.put(task_url, data=flat, headers=headers, timeout=TIMEOUT).status_code == 400
    assert app.task(4712, 4712, 1)["assignee"] == "cwu"
    delegated = requests.put(
        task_url, data={"body": json.dumps(flat)}, headers=headers, timeout=TIMEOUT
    )
    assert delegated.status_code == 200
    state = app.task(4712, 4712, 1)
    assert (state["assignee"], state["status"]) == ("dlee", "open")


def test_nodes_v2_shape(ecm: tuple[EcmStandIn, str]) -> None:
    _, url = ecm
    headers = login(url)
    node = requests.get(
        f"{url}/api/v2/nodes/30501",
        params=[("fields", "properties"), ("fields", "categories")],
        headers=headers,
        timeout=TIMEOUT,
    ).json()
    props = node["results"]["data"]["properties"]
    assert (props["id"], props["type"], props["type_name"]) == (30501, 144, "Document")
    assert node["results"]["data"]["categories"][0]["30100_3"] == "2026-12-31T00:00:00"
    missing = requests.get(f"{url}/api/v2/nodes/1", headers=headers, timeout=TIMEOUT)
    assert (missing.status_code, missing.json()["error"]) == (400, "Could not get a node for 1")


def test_search_shape_and_paging(ecm: tuple[EcmStandIn, str]) -> None:
    _, url = ecm
    headers = login(url)
    body = requests.post(
        f"{url}/api/v2/search",
        data={"where": "OTSubType:144 and OTName:ACME*", "page": 1, "limit": 5},
        headers=headers,
        timeout=TIMEOUT,
    ).json()
    paging = body["collection"]["paging"]
    # The contract record and the agreement the demo's approval step is about (90210).
    assert (paging["total_count"], paging["page_total"], paging["range_min"]) == (2, 1, 1)
    row = body["results"][0]["data"]
    assert row["properties"]["id"] == 30501
    assert "regions" not in row  # only what `select` asks for

    selected = requests.post(
        f"{url}/api/v2/search",
        data={
            "where": "OTName:ACME*",
            "select": "{'OTName','Attr_30100_3','Attr_99_1'}",
        },
        headers=headers,
        timeout=TIMEOUT,
    ).json()["results"][0]["data"]["regions"]
    assert selected == {
        "OTName": "ACME-2026-114 Supplier contract.pdf",
        "Attr_30100_3": "2026-12-31T00:00:00",
        "Attr_99_1": None,
    }
    for bad_select in ("OTName", "['OTName']", "{OTName}"):
        refused = requests.post(
            f"{url}/api/v2/search",
            data={"where": "OTName:ACME*", "select": bad_select},
            headers=headers,
            timeout=TIMEOUT,
        )
        assert refused.status_code == 400, bad_select

    bad = requests.post(
        f"{url}/api/v2/search", data={"where": "contract"}, headers=headers, timeout=TIMEOUT
    )
    assert bad.status_code == 400


def test_parse_lql_subset() -> None:
    clauses = parse_lql('Attr_1_2:"a b" and OTName:>=x AND OTSubType:144')
    assert [(c.region, c.op, c.value) for c in clauses] == [
        ("Attr_1_2", "=", "a b"),
        ("OTName", ">=", "x"),
        ("OTSubType", "=", "144"),
    ]
    for bad in ("", "a or b", "OTName:a or OTName:b", "(OTName:a)"):
        with pytest.raises(LqlError):
            parse_lql(bad)


def test_faults_and_reset_routes(ecm: tuple[EcmStandIn, str]) -> None:
    _, url = ecm
    headers = login(url)
    faults = requests.post(
        f"{url}/_inspect/faults", json={"html_200": 1, "expire_tickets": True}, timeout=TIMEOUT
    )
    assert faults.json()["html_200"] == 1
    restart = form(url, headers, 4711, 4711, 1)
    assert restart.status_code == 200
    assert restart.headers["Content-Type"].startswith("text/html")
    assert form(url, headers, 4711, 4711, 1).status_code == 401  # ticket expired by the fault

    requests.post(f"{url}/_inspect/outage", json={"seconds": 30, "retry_after": 7}, timeout=5)
    down = requests.post(f"{url}/api/v1/auth", data={}, timeout=TIMEOUT)
    assert (down.status_code, down.headers["Retry-After"]) == (503, "7")
    assert (
        requests.get(f"{url}/_inspect", timeout=TIMEOUT).json()["faults"]["outage_remaining_s"] > 0
    )

    assert requests.post(f"{url}/_inspect/faults", json={"bogus": 1}, timeout=5).status_code == 400
    assert requests.delete(f"{url}/_inspect", timeout=TIMEOUT).status_code == 200
    assert form(url, login(url), 4711, 4711, 1).status_code == 200


def test_seed_and_inspect_routes(ecm: tuple[EcmStandIn, str]) -> None:
    _, url = ecm
    seeded = requests.post(
        f"{url}/_inspect/seed",
        json={
            "tasks": [
                {
                    "process_id": 9001,
                    "subprocess_id": 9001,
                    "task_id": 1,
                    "title": "Extra",
                    "assignee": "asmith",
                    "initiator": "bjones",
                    "actions": [{"key": "SendOn", "label": "Send On"}],
                }
            ],
            "records": [{"id": 40001, "name": "Extra record", "parent_id": 30200}],
        },
        timeout=TIMEOUT,
    )
    assert seeded.status_code == 200
    task = requests.get(f"{url}/_inspect/tasks/9001/9001/1", timeout=TIMEOUT).json()
    assert (task["status"], task["disposition_taken"], task["acted_by"], task["comments"]) == (
        "open",
        None,
        None,
        [],
    )
    listed = requests.get(f"{url}/_inspect/tasks", timeout=TIMEOUT).json()["tasks"]
    assert any(t["process_id"] == 9001 for t in listed)
    assert requests.get(f"{url}/_inspect/tasks/1/1/1", timeout=TIMEOUT).status_code == 404

    requests.delete(f"{url}/_inspect", timeout=TIMEOUT)
    assert requests.get(f"{url}/_inspect/tasks/9001/9001/1", timeout=TIMEOUT).status_code == 404


def test_inspect_routes_answer_loopback_only() -> None:
    client = Client(create_ecm_standin())
    remote = client.get("/_inspect", environ_base={"REMOTE_ADDR": "10.1.2.3"})
    assert remote.status_code == 403
    assert client.get("/_inspect", environ_base={"REMOTE_ADDR": "127.0.0.1"}).status_code == 200


def _missing_keys(real: Any, ours: Any, path: str = "$") -> list[str]:
    """Keys the real-shaped answer has and ours lacks, at every level (lists: first items)."""
    if isinstance(real, dict):
        if not isinstance(ours, dict):
            return [path]
        return [
            gap
            for key, value in real.items()
            for gap in (
                [f"{path}.{key}"]
                if key not in ours
                else _missing_keys(value, ours[key], f"{path}.{key}")
            )
        ]
    if isinstance(real, list) and real:
        if not isinstance(ours, list) or not ours:
            return [f"{path}[]"]
        return _missing_keys(real[0], ours[0], f"{path}[0]")
    return []


@pytest.mark.parametrize(
    ("fixture_name", "user", "call"),
    [
        (
            "task_form.json",
            "asmith",
            (
                "GET",
                "/api/v1/forms/processes/tasks/update?process_id=4711&subprocess_id=4711&task_id=1",
            ),
        ),
        ("workflow_status.json", "svc-ecmpush", ("GET", "/api/v2/workflows/status/processes/4710")),
        (
            "activities.json",
            "svc-ecmpush",
            ("GET", "/api/v2/processes/4710/subprocesses/4710/activities"),
        ),
        ("node.json", "asmith", ("GET", "/api/v2/nodes/30200")),
    ],
)
def test_answers_have_the_real_shape(
    ecm: tuple[EcmStandIn, str], fixture_name: str, user: str, call: tuple[str, str]
) -> None:
    _, url = ecm
    real = json.loads((FIXTURES / fixture_name).read_text(encoding="utf-8"))
    real.pop("_source")
    if fixture_name == "workflow_status.json":  # a finished workflow has no current step
        real["results"]["step_list"]["completed"] = real["results"]["step_list"].pop("current")
        real["results"]["step_list"]["current"] = []
    if fixture_name == "activities.json":
        real["results"]["data"] = real["results"]["data"][1:2]  # a disposition entry
    method, path = call
    answer = requests.request(method, f"{url}{path}", headers=login(url, user), timeout=TIMEOUT)
    assert answer.status_code == 200
    ignored = {"$.results.data.properties.advanced_versioning", "$.forms[0]"}
    gaps = [
        g for g in _missing_keys(real, answer.json()) if not any(g.startswith(i) for i in ignored)
    ]
    assert gaps == []


def test_every_route_of_every_concern_module_has_its_handler() -> None:
    """The app is assembled from one module per concern (auth, OTDS sign-in, workflows, nodes,
    members, inspect): each rule's endpoint `x` is answered by a method `_h_x`, and two apps (a
    test's and the session's) each hold their own copy of every rule."""
    first, second = create_ecm_standin(), create_ecm_standin()
    endpoints = [rule.endpoint for rule in first._urls.iter_rules()]
    assert len(endpoints) == 25  # with OTDS sign-in's authorize and currentuser
    assert [e for e in endpoints if not callable(getattr(first, f"_h_{e}", None))] == []
    assert [rule.endpoint for rule in second._urls.iter_rules()] == endpoints
