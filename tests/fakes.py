"""In-memory fakes of the ports services need beside Content Server, shared by the unit tests
and the contract suite (`tests/contract`)."""

from __future__ import annotations

from concurrent.futures import Executor, Future
from datetime import UTC, datetime
from typing import Any, cast

from pydantic import BaseModel

from ecmpush.domain.delivery.messages import DispatchMessage
from ecmpush.domain.delivery.withdrawal import Decision
from ecmpush.domain.replies.requests import ReplyStatus
from ecmpush.domain.replies.write_back import Reply
from ecmpush.domain.sweeps.tasks import TrackedTask
from ecmpush.settings import Settings


class Partial:
    """Base of a fake that implements only the port methods its test's service calls: any
    other is an error naming the method, never a silent stand-in (ports.py has one port per
    adapter, so a service may be handed more than it uses)."""

    def __getattr__(self, name: str) -> Any:
        raise AttributeError(f"{type(self).__name__} does not fake {name!r}")


class WriteBackRecorder(Partial):
    """`TasksPort` (get, close) and `Publisher` in one, with `replies` its `RepliesPort`
    (mark): what the write-back service writes beside Content Server, kept for assertions.
    `tracked` is the task `get` finds."""

    def __init__(self, tracked: TrackedTask | None = None) -> None:
        self.tracked = tracked
        self.marked: list[ReplyStatus] = []
        self.closed: list[str] = []
        self.decisions: list[Decision | None] = []
        self.published: list[DispatchMessage] = []
        self.replies = _Marks(self.marked)

    def get(self, key: str) -> TrackedTask | None:
        return self.tracked if self.tracked and self.tracked.task_key == key else None

    def close(
        self, key: str, outcome: str | None, now: datetime, decision: Decision | None = None
    ) -> None:
        self.closed.append(key)
        self.decisions.append(decision)

    def publish(self, message: BaseModel, delay_seconds: int = 0) -> str:
        self.published.append(cast(DispatchMessage, message))
        return f"message-{len(self.published)}"


class _Marks(Partial):
    """`RepliesPort.mark`, into the recorder's `marked`."""

    def __init__(self, marked: list[ReplyStatus]) -> None:
        self.marked = marked

    def mark(self, reply: Reply, status: ReplyStatus, now: datetime, detail: str = "") -> None:
        self.marked.append(status)


class ReplyLedger(Partial):
    """`RepliesPort` (get, claim, release): one reply per (notification, user), as
    RepliesRepository keeps them."""

    def __init__(self) -> None:
        self.items: dict[tuple[str, str], Reply] = {}
        self.released: list[str] = []

    def get(self, notification_id: str, ecm_user: str) -> dict[str, Any] | None:
        reply = self.items.get((notification_id, ecm_user))
        return {"response_id": reply.response_id} if reply else None

    def claim(self, reply: Reply, now: datetime) -> bool:
        key = (reply.notification_id, reply.ecm_user)
        if key in self.items:
            return False
        self.items[key] = reply
        return True

    def release(self, reply: Reply) -> None:
        key = (reply.notification_id, reply.ecm_user)
        if key in self.items and self.items[key].response_id == reply.response_id:
            del self.items[key]
            self.released.append(reply.response_id)


class Shelf[T](Partial):
    """A store that `get`s what was put on it: `TasksPort` (by task key), `DevicesPort`
    (by owner and installation id)."""

    def __init__(self, items: dict[Any, T] | None = None) -> None:
        self.items = dict(items or {})

    def get(self, *key: str) -> T | None:
        return self.items.get(key[0] if len(key) == 1 else key)


class Queue[T](Partial):
    """A `Publisher`'s `publish`: kept in order; `fail` makes the next publish raise."""

    def __init__(self) -> None:
        self.published: list[T] = []
        self.fail: Exception | None = None

    def publish(self, message: BaseModel, delay_seconds: int = 0) -> str:
        if self.fail is not None:
            raise self.fail
        self.published.append(cast(T, message))
        return f"message-{len(self.published)}"


# --- builders ----------------------------------------------------------------------------------


def unit_settings(**changes: Any) -> Settings:
    """Settings for a builder whose every adapter a test overrides: names that reach nothing;
    `changes` override any field."""
    required = {
        "events_table": "EventsTable",
        "devices_table": "DevicesTable",
        "deliveries_table": "DeliveriesTable",
        "idempotency_table": "IdempotencyTable",
        "dispatch_queue_url": "https://sqs.invalid/dispatch",
        "webhook_secret_id": "webhook-secret",
        "firebase_secret_id": "firebase-secret",
        "action_token_secret_id": "action-token-secret",
        "app_base_url": "https://app.example.com",
        "tasks_table": "TasksTable",
        "writeback_queue_url": "https://sqs.invalid/writeback",
        "ecm_secret_id": "ecm-secret",
        "ecm_base_url": "https://ecm.example.com/otcs/cs.exe",
        "records_table": "RecordsTable",
    }
    return Settings(**{**required, **changes})


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


class Inline(Executor):
    """Runs submitted work at once in the caller's thread (a Dispatch pool in unit tests)."""

    def submit(self, fn, /, *args, **kwargs):
        future: Future[object] = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:
            future.set_exception(exc)
        return future
