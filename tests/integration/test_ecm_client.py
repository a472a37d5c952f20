"""EcmClient against the Content Server stand-in over real HTTP.

Every test asserts on what the stand-in recorded (task state, tickets issued, requests seen), so
a client that only pretends to succeed fails here."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
import requests

from devstack.ecm_standin import EcmStandIn, create_ecm_standin
from devstack.http_server import BackgroundServer
from ecmpush.adapters.ecm.client import EcmClient, send_on_form
from ecmpush.adapters.ecm.config import AuthMode, EcmConfig
from ecmpush.domain.ecm.errors import (
    EcmAuthError,
    EcmNotAssignee,
    EcmNotFound,
    EcmProtocolError,
    EcmRejected,
    EcmStepNeedsAuthentication,
    EcmTaskNotOpen,
    EcmUnavailable,
)
from ecmpush.domain.ecm.task_ref import TaskRef
from ecmpush.domain.replies.dispositions import DispositionKind, choose_disposition
from tests.integration.ecm_steps import AUTHENTICATED_TASK, GROUP_TASK

CONTRACT = TaskRef(
    process_id=4711, subprocess_id=4711, task_id=1
)  # approval, asmith, custom Approve/Reject
REPORT = TaskRef(process_id=4712, subprocess_id="4712", task_id="1")  # review, cwu, actions only
POLICY = TaskRef(
    process_id="4714", subprocess_id=4714, task_id=1
)  # acknowledge, asmith, SendOn only
DONE = TaskRef(process_id=4710, subprocess_id=4710, task_id=1)  # completed in the seed

FAST = {
    "connect_timeout_s": 0.5,
    "read_timeout_s": 1.0,
    "backoff_base_s": 0.02,
    "backoff_max_s": 0.1,
    "max_attempts": 6,
    "default_budget_s": 3.0,
}


def password_client(url: str, **overrides: Any) -> EcmClient:
    settings = FAST | overrides
    return EcmClient(
        EcmConfig(
            base_url=url,
            auth_mode=AuthMode.PASSWORD,
            username="svc-ecmpush",
            password=settings.pop("password", "svc-ecmpush-local"),
            **settings,
        )
    )


def otds_client(url: str, *, act_as_user: bool = True, **overrides: Any) -> EcmClient:
    settings = FAST | overrides
    return EcmClient(
        EcmConfig(
            base_url=url,
            auth_mode=AuthMode.OTDS,
            otds_url=url,
            client_id=settings.pop("client_id", "ecmpush"),
            client_secret=settings.pop("client_secret", "ecmpush-local-secret"),
            act_as_user=act_as_user,
            **settings,
        )
    )


def statuses(app: EcmStandIn, prefix: str) -> list[int]:
    return [r["status"] for r in app.requests(prefix)]


# -- authentication ---------------------------------------------------------------------------


def test_password_auth_reads_status_and_reuses_the_ticket(ecm: tuple[EcmStandIn, str]) -> None:
    app, url = ecm
    client = password_client(url)
    status = client.workflow_status(4711)
    again = client.workflow_status("4711")

    (step,) = status.current
    assert step.ref == CONTRACT
    assert step.assigned_to("asmith")
    assert step.assigned_to("1001")
    assert status.is_open(CONTRACT)
    assert status.initiator is not None
    assert (status.initiator.login, status.initiator.user_id) == ("bjones", 1002)
    assert again == status
    assert app.logins() == [{"via": "password", "user": "svc-ecmpush", "at": app.logins()[0]["at"]}]
    assert client.logins == 1
    assert [r["user"] for r in app.requests("/api/v2/workflows")] == ["svc-ecmpush"] * 2


def test_refreshed_tickets_are_kept(ecm: tuple[EcmStandIn, str]) -> None:
    app, url = ecm
    client = password_client(url)
    client.workflow_status(4711)
    app.set_faults(ticket_lifetime_s=60)
    client.workflow_status(4711)
    client.workflow_status(4711)
    assert client.logins == 1  # each answer's OTCSTicket header was adopted


def test_the_form_answers_its_assignee_only(ecm: tuple[EcmStandIn, str]) -> None:
    app, url = ecm
    client = otds_client(url)
    task = client.get_task(CONTRACT, as_user="asmith")
    assert task.title == "Approve supplier contract ACME-2026-114"
    assert task.is_open
    assert [a.key for a in task.actions] == ["SendOn", "SendForReview", "Delegate"]
    assert [(c.key, c.label) for c in task.custom_actions] == [
        ("Approve", "Approve"),
        ("Reject", "Reject"),
    ]
    assert task.comments_on
    assert not task.member_accept
    with pytest.raises(EcmNotAssignee):
        client.get_task(CONTRACT, as_user="dlee")
    with pytest.raises(EcmNotAssignee):
        password_client(url).get_task(CONTRACT)  # the service account holds no step
    assert [r["status"] for r in app.requests("/api/v1/forms")] == [200, 500, 500]


def test_otds_service_account_gets_ticket_by_bearer(ecm: tuple[EcmStandIn, str]) -> None:
    app, url = ecm
    client = otds_client(url, act_as_user=False)
    client.workflow_status(4711)

    assert [(x["via"], x["user"]) for x in app.logins()] == [("bearer", "svc-ecmpush")]
    assert statuses(app, "/otdsws/oauth2/token") == [200]
    assert not client.impersonates("asmith")


def test_act_as_user_by_token_exchange_records_that_user(ecm: tuple[EcmStandIn, str]) -> None:
    app, url = ecm
    client = otds_client(url)
    assert client.impersonates("asmith")

    result = client.complete_task(
        CONTRACT, custom_action="Approve", comment="Looks good", as_user="asmith"
    )

    state = app.task(4711, 4711, 1)
    assert state["acted_by"] == "asmith"
    assert state["status"] == "completed"
    assert state["disposition_taken"] == "Approve"
    assert state["comments"][-1]["comment"] == "Looks good"
    assert (result.acted_as, result.kind) == ("asmith", DispositionKind.CUSTOM_ACTION)
    assert [(x["via"], x["user"]) for x in app.logins()] == [("bearer", "asmith")]
    assert client.user_id("asmith") == 1001  # learnt from the ticket answer, no extra call


def test_tickets_are_cached_per_acting_user(ecm: tuple[EcmStandIn, str]) -> None:
    app, url = ecm
    client = otds_client(url)
    client.get_task(CONTRACT, as_user="asmith")
    client.get_task(REPORT, as_user="cwu")
    client.get_task(POLICY, as_user="asmith")
    client.task_activities(CONTRACT)  # service account

    assert sorted(x["user"] for x in app.logins()) == ["asmith", "cwu", "svc-ecmpush"]
    assert [r["user"] for r in app.requests("/api/v1/forms")] == ["asmith", "cwu", "asmith"]


def test_the_service_account_cannot_send_on_a_users_step(ecm: tuple[EcmStandIn, str]) -> None:
    app, url = ecm
    client = password_client(url)
    with pytest.raises(EcmNotAssignee):
        client.complete_task(POLICY, action="SendOn", comment="ok", as_user="asmith")
    state = app.task(4714, 4714, 1)
    assert (state["status"], state["comments"]) == ("open", [])


@pytest.mark.parametrize(
    ("overrides", "as_user"),
    [
        ({"client_secret": "wrong"}, None),
        ({"client_id": "reporting", "client_secret": "reporting-local-secret"}, "asmith"),
        ({}, "nobody"),
    ],
    ids=["bad-secret", "client-may-not-impersonate", "unknown-user"],
)
def test_otds_refusals_are_auth_errors(
    ecm: tuple[EcmStandIn, str], overrides: dict[str, Any], as_user: str | None
) -> None:
    app, url = ecm
    client = otds_client(url, **overrides)
    with pytest.raises(EcmAuthError):
        client.get_task(CONTRACT, as_user=as_user)
    assert app.logins() == []
    assert len(app.requests("/otdsws")) == 1  # refused credentials are not retried


def test_wrong_password_is_an_auth_error_without_retry(ecm: tuple[EcmStandIn, str]) -> None:
    app, url = ecm
    client = password_client(url, password="nope")
    with pytest.raises(EcmAuthError) as caught:
        client.workflow_status(4711)
    assert caught.value.status == 401
    assert "nope" not in str(caught.value)
    assert statuses(app, "/api/v1/auth") == [401]


def test_expired_ticket_mid_flight_reauthenticates_once(ecm: tuple[EcmStandIn, str]) -> None:
    app, url = ecm
    client = otds_client(url)
    client.get_task(POLICY, as_user="asmith")
    app.expire_tickets()

    client.complete_task(POLICY, action="SendOn", comment="Read it", as_user="asmith")

    assert app.task(4714, 4714, 1)["status"] == "completed"
    assert [x["user"] for x in app.logins()] == ["asmith", "asmith"]
    assert client.logins == 2
    assert statuses(app, "/api/v2/processes") == [401, 200]


def test_refused_twice_is_auth_error_after_one_reauth(ecm: tuple[EcmStandIn, str]) -> None:
    app, url = ecm
    app.set_faults(ticket_lifetime_s=0)  # every ticket is dead on arrival
    client = password_client(url)
    with pytest.raises(EcmAuthError) as caught:
        client.workflow_status(4711)
    assert caught.value.status == 401
    assert len(app.logins()) == 2
    assert statuses(app, "/api/v2/workflows") == [401, 401]


# -- transient faults -------------------------------------------------------------------------


def test_outage_retries_then_unavailable_within_budget(ecm: tuple[EcmStandIn, str]) -> None:
    app, url = ecm
    app.outage(30)
    # The client's own clock, moved only by its backoff sleeps: the budget is spent waiting
    # between attempts, whatever this machine's load makes each request cost.
    now, slept = [0.0], []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    config = password_client(url, max_attempts=100).config
    client = EcmClient(config, sleep=sleep, clock=lambda: now[0])
    with pytest.raises(EcmUnavailable) as caught:
        client.workflow_status(4711, budget_s=0.4)

    assert sum(slept) <= 0.4  # gave up within its budget ...
    attempts = statuses(app, "/api/v1/auth")
    assert 3 <= len(attempts) < 100  # ... after several attempts, long before max_attempts
    assert set(attempts) == {503}
    assert caught.value.status == 503


def test_outage_stops_after_max_attempts(ecm: tuple[EcmStandIn, str]) -> None:
    app, url = ecm
    app.outage(30)
    client = password_client(url, max_attempts=3)
    with pytest.raises(EcmUnavailable):
        client.workflow_status(4711, budget_s=5)
    assert statuses(app, "/api/v1/auth") == [503, 503, 503]


def test_retry_after_beyond_budget_gives_up_at_once(ecm: tuple[EcmStandIn, str]) -> None:
    app, url = ecm
    app.outage(30, retry_after=30)
    client = password_client(url)
    with pytest.raises(EcmUnavailable) as caught:
        client.workflow_status(4711, budget_s=1)
    assert caught.value.retry_after == 30
    assert statuses(app, "/api/v1/auth") == [503]


def test_short_outage_is_ridden_out(ecm: tuple[EcmStandIn, str]) -> None:
    app, url = ecm
    client = otds_client(url, backoff_base_s=0.05)
    client.get_task(CONTRACT, as_user="asmith")
    app.outage(0.15)
    client.complete_task(
        CONTRACT, custom_action="Reject", comment="No", as_user="asmith", budget_s=3
    )

    assert app.task(4711, 4711, 1)["disposition_taken"] == "Reject"
    seen = statuses(app, "/api/v2/processes")
    assert seen[0] == 503
    assert seen[-1] == 200


def test_html_200_is_retried(ecm: tuple[EcmStandIn, str]) -> None:
    app, url = ecm
    client = password_client(url)
    client.workflow_status(4711)
    app.set_faults(html_200=2)
    status = client.workflow_status(4711)

    assert status.is_open(CONTRACT)
    assert statuses(app, "/api/v2/workflows") == [200, 200, 200, 200]  # 1 ok, 2 HTML, 1 ok
    assert client.logins == 1


def test_html_200_forever_is_unavailable(ecm: tuple[EcmStandIn, str]) -> None:
    app, url = ecm
    app.set_faults(html_200=1000)
    client = password_client(url, max_attempts=4)
    with pytest.raises(EcmUnavailable) as caught:
        client.workflow_status(4711)
    assert "non-JSON" in str(caught.value)
    assert len(app.requests("/api/v1/auth")) == 4
    assert app.task(4711, 4711, 1)["status"] == "open"


def test_slow_answers_time_out_within_budget(ecm: tuple[EcmStandIn, str]) -> None:
    app, url = ecm
    app.set_faults(latency_ms=150)
    client = password_client(url, read_timeout_s=0.05, max_attempts=3)
    started = time.monotonic()
    with pytest.raises(EcmUnavailable) as caught:
        client.workflow_status(4711, budget_s=1)
    assert time.monotonic() - started < 1
    assert "Timeout" in str(caught.value)


def test_connection_refused_is_unavailable() -> None:
    with BackgroundServer(create_ecm_standin()) as srv:
        url = srv.url  # a port that was just free and is closed again below
    client = password_client(url, max_attempts=3)
    with pytest.raises(EcmUnavailable):
        client.get_task(CONTRACT, budget_s=1)


# -- write-back -------------------------------------------------------------------------------


def test_approve_via_custom_action_chosen_from_the_task(ecm: tuple[EcmStandIn, str]) -> None:
    app, url = ecm
    client = otds_client(url)
    task = client.get_task(CONTRACT, as_user="asmith")
    disposition = choose_disposition(task, "approve")
    comment = "Approved on the train. via ecmpush from android at 2026-11-28T10:02:00Z"

    assert disposition.kind is DispositionKind.CUSTOM_ACTION
    client.complete_task(CONTRACT, custom_action=disposition.key, comment=comment, as_user="asmith")

    state = app.task(4711, 4711, 1)
    assert state["disposition"] == {"kind": "custom_action", "key": "Approve", "label": "Approve"}
    assert [(c["user"], c["action"], c["comment"]) for c in state["comments"]] == [
        ("asmith", "Approve", comment)
    ]


def test_mapped_keys_differ_per_workflow(ecm: tuple[EcmStandIn, str]) -> None:
    app, url = ecm
    client = otds_client(url)
    ref = TaskRef(
        process_id=4713, subprocess_id=4713, task_id=2
    )  # offers custom "Approved"/"Rejected" and action "Review"
    disposition = choose_disposition(client.get_task(ref, as_user="bjones"), "reject")
    assert disposition.kind is DispositionKind.CUSTOM_ACTION
    client.complete_task(
        ref, custom_action=disposition.key, comment="Over budget", as_user="bjones"
    )
    assert app.task(4713, 4713, 2)["disposition_taken"] == "Rejected"


def test_acknowledge_via_send_on(ecm: tuple[EcmStandIn, str]) -> None:
    app, url = ecm
    client = otds_client(url)
    task = client.get_task(POLICY, as_user="asmith")
    disposition = choose_disposition(task, "acknowledge")
    assert (disposition.kind, disposition.key) == (DispositionKind.ACTION, "SendOn")

    client.complete_task(
        POLICY, action=disposition.key, comment="Read and understood", as_user="asmith"
    )

    state = app.task(4714, 4714, 1)
    assert (state["status"], state["disposition_taken"], state["acted_by"]) == (
        "completed",
        "SendOn",
        "asmith",
    )
    assert state["comments"][-1]["comment"] == "Read and understood"
    history = client.task_activities(POLICY)
    assert [(a.action, a.user_id, a.comment, a.label) for a in history] == [
        ("SendOn", 1001, "Read and understood", "Send On")
    ]


def test_request_info_sends_for_review_to_the_initiator_by_id(ecm: tuple[EcmStandIn, str]) -> None:
    app, url = ecm
    client = otds_client(url)
    disposition = choose_disposition(client.get_task(CONTRACT, as_user="asmith"), "request_info")
    assert disposition.kind is DispositionKind.ACTION
    with pytest.raises(EcmRejected):  # Review routes to someone: no assignee, no send-on
        client.complete_task(CONTRACT, action=disposition.key, comment="?", as_user="asmith")
    initiator = client.workflow_status(4711).initiator
    assert initiator is not None
    client.complete_task(
        CONTRACT,
        action=disposition.key,
        comment="Which liability cap?",
        as_user="asmith",
        assignee=initiator.user_id,
    )
    state = app.task(4711, 4711, 1)
    assert (state["status"], state["review_assignee"]) == ("sent_for_review", "bjones")


@pytest.mark.parametrize("closed_status", [500, 400])
def test_completed_task_is_not_open(ecm: tuple[EcmStandIn, str], closed_status: int) -> None:
    app, url = ecm
    app.set_faults(closed_task_status=closed_status)
    client = otds_client(url)
    with pytest.raises(EcmTaskNotOpen):  # the form's 500 is explained by the status
        client.get_task(DONE, as_user="bjones")

    with pytest.raises(EcmTaskNotOpen) as caught:
        client.complete_task(DONE, custom_action="Reject", comment="too late", as_user="bjones")
    assert caught.value.status == closed_status
    state = app.task(4710, 4710, 1)
    assert state["disposition_taken"] == "Approve"
    assert len(state["comments"]) == 1
    assert statuses(app, "/api/v2/processes/4710/subprocesses/4710/tasks") == [closed_status]


def test_second_reply_after_completion_is_not_open(ecm: tuple[EcmStandIn, str]) -> None:
    app, url = ecm
    client = otds_client(url)
    client.complete_task(CONTRACT, custom_action="Approve", comment="first", as_user="asmith")
    with pytest.raises(EcmTaskNotOpen):
        client.complete_task(CONTRACT, custom_action="Reject", comment="second", as_user="asmith")
    assert app.task(4711, 4711, 1)["disposition_taken"] == "Approve"


def test_lost_response_is_explained_by_the_status_and_the_history(
    ecm: tuple[EcmStandIn, str],
) -> None:
    app, url = ecm
    app.set_faults(lose_response=1)  # applies the update, then answers 504
    client = otds_client(url)
    with pytest.raises(EcmTaskNotOpen):
        client.complete_task(POLICY, action="SendOn", comment="ack 7f3a", as_user="asmith")

    state = app.task(4714, 4714, 1)
    assert [c["comment"] for c in state["comments"]] == ["ack 7f3a"]
    # the 504 is retried; the retry meets the finished step
    assert statuses(app, "/api/v2/processes/4714/subprocesses/4714/tasks") == [504, 500]
    history = client.task_activities(POLICY)
    assert [(a.comment, a.user_id) for a in history] == [("ack 7f3a", 1001)]


def test_group_step_is_accepted_then_sent_on(ecm: tuple[EcmStandIn, str]) -> None:
    app, url = ecm
    app.seed({"tasks": [GROUP_TASK]})
    client = otds_client(url)
    ref = TaskRef(process_id=4800, subprocess_id=4800, task_id=1)
    assert client.get_task(ref, as_user="cwu").member_accept
    client.accept_task(ref, as_user="cwu")
    assert not client.get_task(ref, as_user="cwu").member_accept
    client.complete_task(ref, action="SendOn", comment="mine now", as_user="cwu")
    assert app.task(4800, 4800, 1)["acted_by"] == "cwu"


def test_accept_false_is_a_refusal_not_an_accepted_step(ecm: tuple[EcmStandIn, str]) -> None:
    """`{"results": {"accept": false}}` (REST API 2.0.2) after another member took the step."""
    app, url = ecm
    app.seed({"tasks": [GROUP_TASK]})
    client = otds_client(url)
    ref = TaskRef(process_id=4800, subprocess_id=4800, task_id=1)
    client.accept_task(ref, as_user="cwu")
    client.accept_task(ref, as_user="cwu")  # a repeat by the member who has it: accepted
    with pytest.raises(EcmNotAssignee, match="accept: false"):
        client.accept_task(ref, as_user="asmith")
    assert app.task(4800, 4800, 1)["assignee"] == "cwu"


def test_routed_actions_carry_the_assignee_inside_body_as_pyxecm_does() -> None:
    """REST API 2.0.2 lists `action`, `custom_action`, `comment` and no `assignee`; pyxecm's
    `update_process_task` sends the assignee only in one `body=<json>` field."""
    assert send_on_form(DispositionKind.CUSTOM_ACTION, "Approve", "ok") == {
        "custom_action": "Approve",
        "comment": "ok",
    }
    form = send_on_form(DispositionKind.ACTION, "Review", "which cap?", 1002)
    assert list(form) == ["body"]
    assert json.loads(form["body"]) == {
        "action": "Review",
        "assignee": "1002",
        "comment": "which cap?",
    }


def test_a_step_asking_for_authentication_is_not_sent_on_without_it(
    ecm: tuple[EcmStandIn, str],
) -> None:
    """A real server answers 400 to a send-on of such a step without `authentication_info`."""
    app, url = ecm
    app.seed({"tasks": [AUTHENTICATED_TASK]})
    client = otds_client(url)
    ref = TaskRef(process_id=4900, subprocess_id=4900, task_id=1)
    form = client.get_task(ref, as_user="asmith")
    assert form.authentication
    with pytest.raises(EcmStepNeedsAuthentication):
        form.ensure_answerable_from_a_push()
    with pytest.raises(EcmRejected) as caught:
        client.complete_task(ref, action="SendOn", comment="no password", as_user="asmith")
    assert (caught.value.status, caught.value.server_message) == (
        400,
        "Invalid username/password specified",
    )
    assert app.task(4900, 4900, 1)["status"] == "open"


def test_both_action_and_custom_action_never_reach_the_server(
    ecm: tuple[EcmStandIn, str],
) -> None:
    app, url = ecm
    client = password_client(url)
    with pytest.raises(ValueError, match="exactly one"):
        client.complete_task(CONTRACT, action="SendOn", custom_action="Approve", comment="x")
    with pytest.raises(ValueError, match="exactly one"):
        client.complete_task(CONTRACT, comment="x")
    assert app.requests("/api") == []


def test_both_fields_are_refused_by_the_server(ecm: tuple[EcmStandIn, str]) -> None:
    app, url = ecm
    ticket = requests.post(
        f"{url}/api/v1/auth",
        data={"username": "asmith", "password": "asmith-local"},
        timeout=5,
    ).json()["ticket"]
    answer = requests.put(
        f"{url}/api/v2/processes/4711/subprocesses/4711/tasks/1",
        data={"action": "SendOn", "custom_action": "Approve", "comment": "both"},
        headers={"OTCSTicket": ticket},
        timeout=5,
    )
    assert answer.status_code == 400
    assert answer.json()["error"] == "It is not allowed to execute an action and a custom action"
    assert app.task(4711, 4711, 1)["status"] == "open"


def test_unknown_key_is_rejected_and_task_stays_open(ecm: tuple[EcmStandIn, str]) -> None:
    app, url = ecm
    client = otds_client(url)
    with pytest.raises(EcmRejected) as caught:
        client.complete_task(CONTRACT, custom_action="Approved", comment="x", as_user="asmith")
    assert caught.value.status == 400
    assert "Approved" in (caught.value.server_message or "")
    assert app.task(4711, 4711, 1)["status"] == "open"


def test_unknown_task_is_not_found(ecm: tuple[EcmStandIn, str]) -> None:
    _, url = ecm
    client = otds_client(url)
    with pytest.raises(EcmNotFound):
        client.get_task(TaskRef(process_id=9999, subprocess_id=9999, task_id=1), as_user="asmith")
    with pytest.raises(EcmNotFound):
        client.complete_task(
            TaskRef(process_id=9999, subprocess_id=9999, task_id=1),
            action="SendOn",
            comment="x",
            as_user="asmith",
        )
    with pytest.raises(EcmNotFound) as caught:  # REST API 2.0.2: 400, not 404
        client.workflow_status(9999)
    assert (caught.value.status, caught.value.server_message) == (
        400,
        "Could not access task status",
    )
    with pytest.raises(EcmNotFound):
        client.task_activities(TaskRef(process_id=9999, subprocess_id=9999, task_id=1))


# -- nodes and search -------------------------------------------------------------------------


def test_search_pages_through_records(ecm: tuple[EcmStandIn, str]) -> None:
    app, url = ecm
    client = password_client(url)
    wanted = ("OTName", "Attr_30100_3")
    first = client.search("Attr_30100_2:contract", select=wanted, page=1, limit=3)
    second = client.search("Attr_30100_2:contract", select=wanted, page=2, limit=3)

    assert (first.total_count, first.page_total, first.has_more) == (4, 2, True)
    assert (second.page, len(second.rows), second.has_more) == (2, 1, False)
    ids = [r.id for r in first.rows + second.rows]
    assert ids == [30501, 30502, 30503, 30504]
    assert first.rows[0].categories == {"30100_3": "2026-12-31T00:00:00"}
    unasked = client.search("Attr_30100_2:contract", limit=1).rows[0]
    assert (unasked.categories, unasked.regions) == ({}, {})  # as a real server: not asked
    assert app.requests("/api/v2/search")[0]["status"] == 200


def test_search_region_names_are_checked_before_sending() -> None:
    from ecmpush.adapters.ecm.client import select_regions

    assert select_regions(["OTName", "Attr_30100_3"]) == "{'OTName','Attr_30100_3'}"
    with pytest.raises(ValueError, match="region"):
        select_regions(["OTName','x"])


def test_search_by_expiry_window_and_location(ecm: tuple[EcmStandIn, str]) -> None:
    _, url = ecm
    client = password_client(url)
    window = "Attr_30100_3:>=2026-12-01T00:00:00 and Attr_30100_3:<20270301"  # both date spellings
    page = client.search(window)
    assert sorted(r.name for r in page.rows) == [
        "ACME-2026-114 Supplier contract.pdf",
        "Acrobat volume licence 2026.pdf",
        "Globex-2025-077 Service agreement.pdf",
        "Initech-2024-310 NDA.pdf",
    ]
    in_policies = client.search(window, location_id=30300)
    assert [r.id for r in in_policies.rows] == [30505]


def test_search_with_unsupported_query_is_rejected(ecm: tuple[EcmStandIn, str]) -> None:
    _, url = ecm
    client = password_client(url)
    with pytest.raises(EcmRejected):
        client.search("OTName:a or OTName:b")


# -- defensive parsing and configuration ------------------------------------------------------


def _odd_server(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    """Authenticates, then answers a task form without `data.actions`."""
    path = environ["PATH_INFO"]
    body = {"ticket": "t"} if path == "/api/v1/auth" else {"data": {"title": "no actions"}}
    start_response("200 OK", [("Content-Type", "application/json")])
    return [json.dumps(body).encode()]


def test_unexpected_shape_is_a_protocol_error() -> None:
    with BackgroundServer(_odd_server) as srv:
        client = password_client(srv.url)
        with pytest.raises(EcmProtocolError, match=r"\$\.data\.actions"):
            client.get_task(CONTRACT)


def test_config_from_secret_shapes() -> None:
    otds = EcmConfig.from_secret(
        {
            "otds_url": "https://otds.example.com/",
            "client_id": "ecmpush",
            "client_secret": "s3cret",
            "act_as_user": "true",
        },
        base_url="https://ecm.example.com/otcs/cs.exe/",
        default_budget_s=8,
    )
    assert otds.auth_mode is AuthMode.OTDS
    assert otds.api_url == "https://ecm.example.com/otcs/cs.exe/api"
    assert otds.otds_token_url == "https://otds.example.com/otdsws/oauth2/token"
    assert otds.act_as_user
    assert otds.partition == "Content Server Members"
    assert otds.default_budget_s == 8
    assert "s3cret" not in repr(otds)

    password = EcmConfig.from_secret(
        {
            "auth_mode": "password",
            "base_url": "http://ecm.local/cs/cs",
            "username": "svc",
            "password": "pw",
        }
    )
    assert password.auth_mode is AuthMode.PASSWORD
    assert not password.act_as_user


@pytest.mark.parametrize(
    ("secret", "reason"),
    [
        ({"username": "svc", "password": "pw", "act_as_user": True}, "needs auth_mode 'otds'"),
        ({"auth_mode": "otds", "client_id": "c"}, "needs otds_url"),
        ({"username": "svc", "pasword": "typo"}, "unknown keys"),
        ({"username": "svc"}, "needs username and password"),
    ],
)
def test_config_refuses_bad_secrets(secret: dict[str, Any], reason: str) -> None:
    with pytest.raises(ValueError, match=reason) as caught:
        EcmConfig.from_secret(secret, base_url="https://ecm.example.com/cs")
    assert "typo" not in str(caught.value)
