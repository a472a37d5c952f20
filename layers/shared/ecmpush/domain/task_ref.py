"""The one identity of a workflow step, from the webhook event to the Content Server call.

Content Server addresses a step by three integers (process, subprocess, task) and answers them
as JSON numbers; ECM event scripts send them as strings or numbers. Both are read here into one
canonical decimal string, so `"04711"`, `" 4711 "` and `4711` are the same task everywhere: in
the tracked-task key, in the action token, and in the REST path. An id that is not a whole
number is refused at the webhook with its field path, instead of being accepted and failing
later in the write-back, where the user's answer would be lost."""

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
