"""One task identity from the webhook to the REST path: what the webhook accepts as a task id is
exactly what Content Server can be asked about, in one canonical spelling."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from ecmpush.domain.ecm.task_ref import TaskRef
from tests.conftest import sample_event
from tests.unit.test_events import error_paths, validate


def test_ints_and_digit_strings_are_one_task() -> None:
    spelled = TaskRef(process_id="0004711", subprocess_id=4711, task_id=" 1 ")
    assert spelled == TaskRef(process_id=4711, subprocess_id="4711", task_id=1)
    assert spelled.key == str(spelled) == "4711/4711/1"
    assert spelled.model_dump() == {"process_id": "4711", "subprocess_id": "4711", "task_id": "1"}


@pytest.mark.parametrize(
    "value",
    ["47a", "", " ", "-1", "+1", "1.0", "٣", "1" * 20, True, 1.0, None, [1]],
    ids=repr,
)
def test_what_is_not_a_content_server_id_is_refused(value: Any) -> None:
    with pytest.raises(ValidationError, match="Content Server id"):
        TaskRef(process_id=value, subprocess_id=1, task_id=1)


def test_the_largest_content_server_id_is_read() -> None:
    assert TaskRef(process_id="9" * 19, subprocess_id=1, task_id=1).process_id == "9" * 19


@pytest.mark.parametrize("field", ["process_id", "subprocess_id", "task_id"])
def test_the_webhook_names_the_bad_id(field: str) -> None:
    raw = sample_event("task_assigned")
    raw["data"]["task"][field] = "TASK-7"
    assert error_paths(raw) == [("data", "task", field)]


def test_the_webhook_reads_numbers_as_ids() -> None:
    raw = sample_event("task_completed")
    raw["data"]["task"] = {"process_id": 4711, "subprocess_id": "4711", "task_id": 2}
    event = validate(raw)
    assert event.data.task.key == "4711/4711/2"  # type: ignore[union-attr]
