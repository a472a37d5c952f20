"""The one identity of a workflow step, from the webhook event to the Content Server call.
Why: docs/design/task-identity.md."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict

TASK_ID_FIELDS = ("process_id", "subprocess_id", "task_id")

# Content Server keeps ids in 64-bit columns: at most 19 decimal digits.
MAX_ID_DIGITS = 19


def _content_server_id(value: object) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ValueError("must be a Content Server id: a whole number such as 4711")
    text = str(value).strip()
    if not text.isascii() or not text.isdigit() or len(text.lstrip("0") or "0") > MAX_ID_DIGITS:
        raise ValueError("must be a Content Server id: a whole number such as 4711")
    return str(int(text))


ContentServerId = Annotated[str, BeforeValidator(_content_server_id)]


class TaskRef(BaseModel):
    """A workflow step: process (workflow instance), subprocess and task id."""

    # defer_build: most importers never validate one (the cold-start budget, issue 11).
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    process_id: ContentServerId
    subprocess_id: ContentServerId
    task_id: ContentServerId

    @property
    def key(self) -> str:
        """How ecmpush stores the step (the tracked-task key) and names it in logs."""
        return f"{self.process_id}/{self.subprocess_id}/{self.task_id}"

    def __str__(self) -> str:
        return self.key
