"""In-memory fakes of the ports services need beside Content Server, shared by the unit tests
and the contract suite (`tests/contract`)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from ecmpush.domain.messages import DispatchMessage
from ecmpush.domain.replies import ReplyStatus
from ecmpush.domain.tasks import TrackedTask
from ecmpush.domain.write_back import WriteBack


class WriteBackRecorder:
    """`ReplyStatusLog`, `TaskCloser` and `Publisher` in one: what the write-back service writes
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


class ReplyLedger:
    """`ReplyClaims`: one reply per (notification, user), as ResponsesRepository keeps them."""

    def __init__(self) -> None:
        self.items: dict[tuple[str, str], WriteBack] = {}
        self.released: list[str] = []

    def get(self, notification_id: str, ecm_user: str) -> dict[str, Any] | None:
        reply = self.items.get((notification_id, ecm_user))
        return {"response_id": reply.response_id} if reply else None

    def claim(self, reply: WriteBack, now: datetime) -> bool:
        key = (reply.notification_id, reply.ecm_user)
        if key in self.items:
            return False
        self.items[key] = reply
        return True

    def release(self, reply: WriteBack) -> None:
        key = (reply.notification_id, reply.ecm_user)
        if key in self.items and self.items[key].response_id == reply.response_id:
            del self.items[key]
            self.released.append(reply.response_id)


class Shelf[T]:
    """A store that `get`s what was put on it: `TaskReader` (by task key), `DeviceReader`
    (by owner and installation id)."""

    def __init__(self, items: dict[Any, T] | None = None) -> None:
        self.items = dict(items or {})

    def get(self, *key: str) -> T | None:
        return self.items.get(key[0] if len(key) == 1 else key)


class Queue[T]:
    """A queue's `publish`: kept in order; `fail` makes the next publish raise."""

    def __init__(self) -> None:
        self.published: list[T] = []
        self.fail: Exception | None = None

    def publish(self, message: T) -> str:
        if self.fail is not None:
            raise self.fail
        self.published.append(message)
        return f"message-{len(self.published)}"


# --- builders ----------------------------------------------------------------------------------


def tracked_task(process_id: str = "4711", **changes: Any) -> TrackedTask:
    """A task as Dispatch tracks it after `task.assigned`: step `<process_id>/<process_id>/1`,
    an approval for asmith with bjones as supervisor; `changes` override any field."""
    values: dict[str, Any] = {
        "task_key": f"{process_id}/{process_id}/1",
        "process_id": process_id,
        "subprocess_id": process_id,
        "task_id": "1",
        "title": "Approve supplier contract",
        "stage": "approval",
        "assignee": "asmith",
        "supervisor": "bjones",
        "opened_at": datetime(2026, 12, 1, 9, 0, tzinfo=UTC),
    }
    return TrackedTask(**{**values, **changes})
