"""The interfaces services depend on; adapters implement them and tests may swap in fakes."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from ecmpush.domain.delivery import SendResult
from ecmpush.domain.ecm import (
    Activity,
    CompletionResult,
    SearchPage,
    TaskDetails,
    WorkflowStatus,
)
from ecmpush.domain.ecm import TaskRef as EcmTaskRef
from ecmpush.domain.identity import Principal
from ecmpush.domain.messages import DispatchMessage
from ecmpush.domain.push import Push
from ecmpush.domain.replies import ReplyStatus
from ecmpush.domain.tasks import TrackedTask
from ecmpush.domain.write_back import WriteBack


class PushSender(Protocol):
    def send(self, pushes: Sequence[Push]) -> list[SendResult]:
        """Send each push once; the result list is aligned with `pushes`. Never raises for a
        per-message FCM error: those are results. Raises only when nothing could be sent."""
        ...


class IdTokenVerifier(Protocol):
    def verify(self, bearer_token: str, *, check_revoked: bool = False) -> Principal:
        """Verify a Firebase ID token (signature, expiry, audience, issuer); raise
        `Unauthenticated` for anything that is not a valid token of this project. With
        `check_revoked` (when the deployment has revocation checks) also refuse tokens of
        revoked, disabled or deleted users, or raise `RevocationCheckUnavailable`."""
        ...


class EcmWorkflowStatus(Protocol):
    def workflow_status(
        self, process_id: str | int, *, budget_s: float | None = None
    ) -> WorkflowStatus:
        """Steps in progress and done, and the initiator, read as the service account. Raises
        `EcmNotFound` for an unknown workflow, `EcmRejected` when the service account may not
        see it, `EcmUnavailable` when Content Server cannot answer now."""
        ...


class EcmWorkflows(EcmWorkflowStatus, Protocol):
    """What the reply write-back needs of Content Server. Step calls (`get_task`, `accept_task`,
    `complete_task`) run as `as_user`, the user whose inbox holds the step."""

    def get_task(
        self, ref: EcmTaskRef, *, as_user: str | None = None, budget_s: float | None = None
    ) -> TaskDetails: ...

    def accept_task(
        self, ref: EcmTaskRef, *, as_user: str | None = None, budget_s: float | None = None
    ) -> None: ...

    def complete_task(
        self,
        ref: EcmTaskRef,
        *,
        action: str | None = None,
        custom_action: str | None = None,
        comment: str,
        as_user: str | None = None,
        assignee: str | int | None = None,
        budget_s: float | None = None,
    ) -> CompletionResult: ...

    def task_activities(
        self, ref: EcmTaskRef, *, budget_s: float | None = None
    ) -> list[Activity]: ...

    def user_id(self, login: str, *, budget_s: float | None = None) -> int: ...

    def impersonates(self, as_user: str | None) -> bool:
        """True when step calls for `as_user` run under that user's own ticket."""
        ...


class EcmSearch(Protocol):
    def search(
        self,
        where: str,
        *,
        select: Sequence[str] = (),
        location_id: int | str | Sequence[int | str] | None = None,
        page: int = 1,
        limit: int = 100,
        budget_s: float | None = None,
    ) -> SearchPage: ...


class Publisher(Protocol):
    def publish(self, message: DispatchMessage) -> str:
        """Put one message on the dispatch queue; returns its message id."""
        ...


class ReplyRecorder(Protocol):
    def mark(
        self, reply: WriteBack, status: ReplyStatus, now: datetime, detail: str = ""
    ) -> None: ...


class TaskCloser(Protocol):
    def get(self, key: str) -> TrackedTask | None: ...
    def close(self, key: str, outcome: str | None, now: datetime) -> None: ...
