"""The interfaces services depend on; adapters implement them and tests may swap in fakes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Protocol

from ecmpush.domain.delivery import (
    Claim,
    DeliveryOutcome,
    DeliveryTarget,
    PolicyOutcome,
    SendResult,
)
from ecmpush.domain.devices import Device
from ecmpush.domain.ecm import (
    Activity,
    CompletionResult,
    MembersPage,
    SearchPage,
    TaskDetails,
    WorkflowStatus,
)
from ecmpush.domain.ecm import TaskRef as EcmTaskRef
from ecmpush.domain.identity import Principal
from ecmpush.domain.messages import DispatchMessage, MemberType
from ecmpush.domain.notifications import Notification
from ecmpush.domain.push import Push
from ecmpush.domain.recipient import Recipient
from ecmpush.domain.replies import ReplyStatus
from ecmpush.domain.tasks import TrackedTask
from ecmpush.domain.write_back import WriteBack


class PushSender(Protocol):
    def authorize(self, valid_for_seconds: float) -> None:
        """Make sure no send in the next `valid_for_seconds` must first fetch credentials
        (fetch them now if so); raise when they cannot be had. Called before anything is
        claimed, so a slow credential endpoint can delay a batch but never strand a claim."""
        ...

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


class EcmDirectory(Protocol):
    def group_members(
        self,
        group_id: int,
        *,
        member_type: MemberType,
        page: int,
        budget_s: float | None = None,
    ) -> MembersPage:
        """One page of a group's direct members of one type, read as the service account (the
        server decides the page size). Raises `EcmNotFound` for an unknown group, `EcmRejected`
        when the service account may not list it, `EcmUnavailable` when Content Server cannot
        answer now."""
        ...


class Publisher(Protocol):
    def publish(self, message: DispatchMessage) -> str:
        """Put one message on the dispatch queue; returns its message id."""
        ...


class DispatchQueue(Protocol):
    """The dispatch queue as Dispatch itself uses it: delayed messages (quiet hours) and
    delivery batches queued many to a call."""

    def publish(self, message: DispatchMessage, delay_seconds: int = 0) -> str: ...

    def publish_all(self, messages: Sequence[DispatchMessage]) -> int:
        """Queue all `messages` in as few calls as SQS allows; returns the number of calls.
        Raises if any message could not be queued."""
        ...


class Recipients(Protocol):
    """Where Dispatch finds the people it pushes to, and forgets dead tokens."""

    def recipients(self, owners: Sequence[str]) -> Mapping[str, Recipient]: ...
    def for_external(self, external_id: str) -> list[Device]: ...
    def delete_if_token(self, owner: str, installation_id: str, token: str) -> bool: ...


class Deliveries(Protocol):
    """One item collection per notification: its header, inbox entries, claims and answers."""

    def save_notification(
        self,
        notification: Notification,
        recipients: Sequence[str],
        now: datetime,
        *,
        header: bool = True,
    ) -> None: ...
    def claim(
        self,
        notification: Notification,
        targets: Sequence[DeliveryTarget],
        now: datetime,
        lease_seconds: int,
    ) -> list[Claim]: ...
    def record(
        self,
        notification: Notification,
        now: datetime,
        deliveries: Sequence[DeliveryOutcome] = (),
        policies: Sequence[PolicyOutcome] = (),
    ) -> None: ...


class FcmPause(Protocol):
    """The project-wide hold FCM asked for (domain/pacing.py), shared by every container."""

    def until(self) -> datetime | None: ...
    def pause(self, until: datetime) -> None: ...


class EventLog(Protocol):
    def mark(self, event_id: str, status: str, now: datetime, notifications: int = 0) -> None: ...


class TaskTracker(Protocol):
    def open(self, task: TrackedTask) -> None: ...
    def close(self, key: str, outcome: str | None, now: datetime) -> None: ...


class ReplyRecorder(Protocol):
    def mark(
        self, reply: WriteBack, status: ReplyStatus, now: datetime, detail: str = ""
    ) -> None: ...


class TaskCloser(Protocol):
    def get(self, key: str) -> TrackedTask | None: ...
    def close(self, key: str, outcome: str | None, now: datetime) -> None: ...
