"""In-memory fakes of the ports services need beside Content Server, shared by the unit tests
and the contract suite (`tests/contract`)."""

from __future__ import annotations

from datetime import datetime

from ecmpush.domain.messages import DispatchMessage
from ecmpush.domain.replies import ReplyStatus
from ecmpush.domain.tasks import TrackedTask
from ecmpush.domain.write_back import WriteBack


class WriteBackRecorder:
    """`ReplyRecorder`, `TaskCloser` and `Publisher` in one: what the write-back service writes
    beside Content Server, kept for assertions. `tracked` is the task `get` finds."""

    def __init__(self, tracked: TrackedTask | None = None) -> None:
        self.tracked = tracked
        self.marked: list[ReplyStatus] = []
        self.closed: list[str] = []
        self.published: list[DispatchMessage] = []

    def mark(self, reply: WriteBack, status: ReplyStatus, now: datetime, detail: str = "") -> None:
        self.marked.append(status)

    def get(self, key: str) -> TrackedTask | None:
        return self.tracked if self.tracked and self.tracked.task_key == key else None

    def close(self, key: str, outcome: str | None, now: datetime) -> None:
        self.closed.append(key)

    def publish(self, message: DispatchMessage) -> str:
        self.published.append(message)
        return f"message-{len(self.published)}"
