"""The Content Server parsers against real-shaped answers (tests/fixtures/otcs/), so a parser that
only understands our stand-in fails here."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ecmpush.adapters.ecm import parsing
from ecmpush.domain.ecm.errors import EcmProtocolError
from ecmpush.domain.ecm.model import Member
from ecmpush.domain.ecm.task_ref import TaskRef

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "otcs"


def fixture(name: str) -> Any:
    body = json.loads((FIXTURES / name).read_text(encoding="utf-8"))
    assert body.pop("_source")
    body.pop("_status", None)
    return body


def test_task_form() -> None:
    ref = TaskRef(process_id=115295, subprocess_id=115295, task_id=1)
    task = parsing.task_details(fixture("task_form.json"), ref)
    assert task.title == "Approver"
    assert [(a.key, a.label) for a in task.actions] == [("Delegate", "Forward")]
    assert [c.key for c in task.custom_actions] == ["Approve", "Reject"]
    assert (task.comments_on, task.member_accept, task.authentication) == (True, False, False)
    assert task.is_open


def test_closed_task_form_error_text() -> None:
    body = fixture("task_form_closed.json")
    assert parsing.error_text(body) == "Could not get a workflow for 115295, 115295, 1"


def test_workflow_status() -> None:
    status = parsing.workflow_status(fixture("workflow_status.json"), "159314")
    (step,) = status.current
    assert step.ref == TaskRef(process_id=159314, subprocess_id=159314, task_id=10)
    assert (step.name, step.status) == ("set Item Status = pending approval", "ontime")
    assert step.assignees == (Member(user_id=1000, login="Admin"),)
    assert step.assigned_to("admin")
    assert step.assigned_to("1000")
    assert not step.assigned_to("pwilliams")
    assert status.initiator == Member(user_id=15235, login="pwilliams")
    assert status.is_open(TaskRef(process_id=159314, subprocess_id=159314, task_id=10))
    assert not status.is_open(TaskRef(process_id=159314, subprocess_id=159314, task_id=11))
    assert status.completed == ()


def test_activities_have_no_task_id() -> None:
    review, approve, attachment = parsing.activities(fixture("activities.json"))
    assert (review.action, review.label, review.user_id) == ("Review", "Send for Review", 1000)
    assert review.comment.startswith("Which liability cap?")
    assert (approve.event, approve.label, approve.user_id) == ("disposition", "Approve", 15235)
    assert (attachment.comment, attachment.event) == ("", "attachment")


def test_search_without_select_has_properties_only() -> None:
    page = parsing.search_page(fixture("search.json"))
    (row,) = page.rows
    assert (row.id, row.type, row.parent_id) == (42708, 144, 28375)
    assert (row.regions, row.categories) == ({}, {})
    assert (page.total_count, page.page_total, page.has_more) == (4945, 50, True)


def test_search_with_select_reads_category_regions() -> None:
    (row,) = parsing.search_page(fixture("search_select.json")).rows
    assert row.categories == {"30100_3": "2026-12-31T00:00:00", "30100_5": "asmith"}
    assert row.regions["OTName"] == "ACME-2026-114 Supplier contract.pdf"


def test_search_regions_the_document_types_as_a_string() -> None:
    """REST API 2.0.2 types `data.regions` as a string: a JSON object in it reads as the object;
    anything else, or no regions when `select` named some, is a protocol error, never a hit
    without values (the expiry sweep would skip every record without a word)."""
    body = fixture("search_select.json")
    regions = body["results"][0]["data"]["regions"]
    body["results"][0]["data"]["regions"] = json.dumps(regions)
    (row,) = parsing.search_page(body, regions_expected=True).rows
    assert row.categories == {"30100_3": "2026-12-31T00:00:00", "30100_5": "asmith"}
    assert row.regions == regions
    for odd in ("OTName", "[1, 2]", 7, ["OTName"]):
        body["results"][0]["data"]["regions"] = odd
        with pytest.raises(EcmProtocolError, match=r"\$\.results\[0\]\.data\.regions"):
            parsing.search_page(body)
    del body["results"][0]["data"]["regions"]
    with pytest.raises(EcmProtocolError, match="select"):
        parsing.search_page(body, regions_expected=True)
    assert parsing.search_page(body).rows[0].regions == {}  # none asked, none given


def test_running_workflows_as_a_list_or_as_the_documents_object() -> None:
    """REST API 2.0.2 `worflow_active_result`: `results` is one object (a row); the otcs-mcp
    client reads a list of rows. Both read the same."""
    row = {"Work_WorkID": 4711, "SubWork_SubWorkID": 4712, "SubWork_Title": "T", "Map_MapObjID": 9}
    as_list = parsing.active_workflows({"results": [row]})
    assert as_list == parsing.active_workflows({"results": row})
    ((workflow),) = as_list
    assert (workflow.process_id, workflow.subprocess_id, workflow.map_id) == ("4711", "4712", 9)
    assert parsing.active_workflows({"results": {}}) == []
    assert parsing.active_workflows({"results": []}) == []
    with pytest.raises(EcmProtocolError, match=r"\$\.results\.Work_WorkID"):
        parsing.active_workflows({"results": {"SubWork_Title": "no id"}})


def test_accept_answer() -> None:
    """REST API 2.0.2 `mobile_workflows_AcceptTask`: `accept: false` is not an accepted step."""
    assert parsing.accepted({"results": {"accept": True}}) is True
    assert parsing.accepted({"results": {"accept": False}}) is False
    odds: list[dict[str, Any]] = [
        {"results": {}},
        {"results": {"accept": "true"}},
        {"results": []},
        {},
    ]
    for odd in odds:
        with pytest.raises(EcmProtocolError, match=r"\$\.results"):
            parsing.accepted(odd)


@pytest.mark.parametrize(
    ("parser", "body", "where"),
    [
        (lambda b: parsing.activities(b), {"results": [{"data": {}}]}, "$.results"),
        (lambda b: parsing.activities(b), {"results": {"data": {}}}, "$.results.data"),
        (lambda b: parsing.workflow_status(b, "1"), {"results": {}}, "$.results.step_list"),
        (
            lambda b: parsing.workflow_status(b, "1"),
            {"results": {"step_list": {"current": [{"process_id": "x"}]}}},
            "process_id",
        ),
        (
            lambda b: parsing.workflow_status(b, "1"),
            {
                "results": {
                    "step_list": {"current": [{"process_id": -4, "subprocess_id": 4, "task_id": 1}]}
                }
            },
            "Content Server ids",
        ),
    ],
    ids=[
        "old-activities-shape",
        "activities-not-a-list",
        "status-no-steps",
        "status-bad-id",
        "status-negative-id",
    ],
)
def test_unknown_shapes_are_protocol_errors(parser: Any, body: Any, where: str) -> None:
    with pytest.raises(EcmProtocolError, match=where.replace("$", r"\$").replace(".", r"\.")):
        parser(body)
