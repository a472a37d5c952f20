"""One port per adapter: what services depend on, each mirroring one adapter's methods (the
adapter named in its docstring), so "go to definition" from a service lands on its adapter's
interface. Fakes may implement only what a test's service calls (tests/fakes.py `Partial`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

# Annotations only (strings here): importing the domain's models at run time made every
# service's importer build all of them, e.g. the devices API's init (docs/benchmarks.md §1).
if TYPE_CHECKING:
    from pydantic import BaseModel

    from ecmpush.domain.approver.steps import TrackedPush
    from ecmpush.domain.delivery.devices import Device, RefreshEntry
    from ecmpush.domain.delivery.messages import MemberType
    from ecmpush.domain.delivery.notifications import Notification
    from ecmpush.domain.delivery.outcomes import (
        Claim,
        DeliveryOutcome,
        DeliveryTarget,
        PolicyOutcome,
        SendResult,
    )
    from ecmpush.domain.delivery.preferences import Preferences
    from ecmpush.domain.delivery.push import Push
    from ecmpush.domain.delivery.receipts import DeliveryRef, DeliveryState, ReceiptEvent
    from ecmpush.domain.delivery.recipient import Recipient
    from ecmpush.domain.delivery.withdrawal import Decision
    from ecmpush.domain.ecm.model import (
        Activity,
        Assignment,
        CompletionResult,
        MembersPage,
        NodeContent,
        NodeInfo,
        SearchPage,
        TaskDetails,
        WorkflowStatus,
    )
    from ecmpush.domain.ecm.task_ref import TaskRef
    from ecmpush.domain.identity import Principal
    from ecmpush.domain.intake.events import EcmEvent, Record
    from ecmpush.domain.page import Page
    from ecmpush.domain.replies.requests import ReplyStatus
    from ecmpush.domain.replies.write_back import Reply
    from ecmpush.domain.sweeps.expiry import TrackedRecord
    from ecmpush.domain.sweeps.tasks import TrackedTask


class PushSender(Protocol):
    """adapters/fcm_sender.py `FcmSender`."""

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
    """adapters/id_token_verifier.py `FirebaseIdTokenVerifier`."""

    def verify(self, bearer_token: str, *, changes: bool = False) -> Principal:
        """Verify a Firebase ID token (signature, expiry, audience, issuer); raise
        `Unauthenticated` for anything that is not a valid token of this project. When the
        deployment has revocation checks, also refuse tokens of revoked, disabled or deleted
        users (or raise `RevocationCheckUnavailable`): at once, or within the operator's bound,
        for a request that `changes` something; within the reads' bound otherwise."""
        ...


class ContentServer(Protocol):
    """adapters/ecm/client.py `EcmClient`. Reads run as the service account; step calls
    (`get_task`, `accept_task`, `complete_task`) as `as_user`, the user whose inbox holds the
    step. Each raises `EcmNotFound`, `EcmRejected` or `EcmUnavailable` (domain/ecm/errors.py)."""

    def workflow_status(
        self, process_id: str | int, *, budget_s: float | None = None
    ) -> WorkflowStatus:
        """Steps in progress and done, and the initiator. `EcmNotFound` for an unknown workflow
        or one the service account may not see (Content Server answers both 400 "Could not
        access task status")."""
        ...

    def get_task(
        self, ref: TaskRef, *, as_user: str | None = None, budget_s: float | None = None
    ) -> TaskDetails: ...

    def accept_task(
        self, ref: TaskRef, *, as_user: str | None = None, budget_s: float | None = None
    ) -> None:
        """Raises `EcmNotAssignee` when Content Server answers `accept: false`."""
        ...

    def complete_task(
        self,
        ref: TaskRef,
        *,
        action: str | None = None,
        custom_action: str | None = None,
        comment: str,
        as_user: str | None = None,
        assignee: str | int | None = None,
        budget_s: float | None = None,
    ) -> CompletionResult: ...

    def task_activities(self, ref: TaskRef, *, budget_s: float | None = None) -> list[Activity]: ...

    def assignments(self, as_user: str, *, budget_s: float | None = None) -> list[Assignment]:
        """The steps in `as_user`'s inbox, asked as that user (`EcmImpersonationOff` without
        impersonation)."""
        ...

    def node(self, node_id: int | str, *, as_user: str, budget_s: float | None = None) -> NodeInfo:
        """`EcmForbidden` for a node hidden from `as_user`, `EcmNotFound` for none."""
        ...

    def node_content(
        self, node_id: int | str, *, as_user: str, limit: int, budget_s: float | None = None
    ) -> NodeContent:
        """`EcmContentTooLarge` above `limit` bytes; `EcmForbidden`, `EcmNotFound` as `node`."""
        ...

    def user_id(self, login: str, *, budget_s: float | None = None) -> int: ...

    def impersonates(self, as_user: str | None) -> bool:
        """True when step calls for `as_user` run under that user's own ticket."""
        ...

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

    def group_members(
        self,
        group_id: int,
        *,
        member_type: MemberType,
        page: int,
        budget_s: float | None = None,
    ) -> MembersPage:
        """One page of a group's direct members of one type (the server decides the page
        size). `EcmRejected` when the service account may not list it."""
        ...


class Publisher(Protocol):
    """adapters/sqs_publisher.py `SqsPublisher`: one queue (dispatch or write-back)."""

    def publish(self, message: BaseModel, delay_seconds: int = 0) -> str:
        """Put one message on the queue; returns its message id."""
        ...

    def publish_all(self, messages: Sequence[BaseModel]) -> int:
        """Queue all `messages` in as few calls as SQS allows; returns the number of calls.
        Raises if any message could not be queued."""
        ...


class DevicesPort(Protocol):
    """adapters/devices_repository.py `DevicesRepository`: registrations, the rosters Dispatch
    reads, dead and stale tokens forgotten."""

    def upsert(self, device: Device, max_devices: int | None = None) -> datetime | None:
        """Raises `DeviceLimitReached` (a new installation beyond `max_devices`) and `TokenHeld`
        (another owner's live registration holds the token), checked in the write itself."""
        ...

    def get(self, owner: str, installation_id: str) -> Device | None: ...
    def delete(self, owner: str, installation_id: str) -> bool: ...
    def owners_of(self, installation_id: str) -> list[str]: ...
    def holders_of_token(self, token: str) -> list[tuple[str, str]]: ...
    def for_owner(self, owner: str) -> list[Device]: ...
    def recipients(self, owners: Sequence[str]) -> Mapping[str, Recipient]: ...
    def for_external(self, external_id: str) -> list[Device]: ...
    def delete_if_token(self, owner: str, installation_id: str, token: str) -> bool: ...
    def not_refreshed_since(
        self, bucket: str, before: str, limit: int, cursor: str | None = None
    ) -> Page[RefreshEntry]: ...
    def delete_if_not_refreshed(
        self, owner: str, installation_id: str, updated_at: str
    ) -> bool: ...


class DeliveriesPort(Protocol):
    """adapters/deliveries_repository.py `DeliveriesRepository`: one item collection per
    notification, its header, inbox entries, claims and answers."""

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
    def save_outcomes(
        self,
        notification: Notification,
        now: datetime,
        deliveries: Sequence[DeliveryOutcome] = (),
        policies: Sequence[PolicyOutcome] = (),
    ) -> None: ...
    def deliveries(self, notification_id: str) -> list[dict[str, Any]]: ...
    def about_task(self, task_key: str) -> list[dict[str, Any]]: ...
    def withdraw(
        self, deliveries: Sequence[tuple[str, str, str]], reason: str, now: datetime
    ) -> list[bool]: ...
    def record_decision(self, notification_ids: Sequence[str], decision: Decision) -> None: ...


class FcmPausePort(Protocol):
    """adapters/fcm_pause_store.py `FcmPauseStore`: the project-wide hold FCM asked for
    (domain/delivery/pacing.py), shared by every container."""

    def until(self) -> datetime | None: ...
    def pause(self, until: datetime) -> None: ...


class EventsPort(Protocol):
    """adapters/events_repository.py `EventsRepository`."""

    def save(self, event: EcmEvent, received_at: datetime) -> None: ...
    def mark(self, event_id: str, status: str, now: datetime, notifications: int = 0) -> None: ...


class TasksPort(Protocol):
    """adapters/tasks_repository.py `TasksRepository`: workflow steps tracked for replies and
    the SLA sweep."""

    def open(self, task: TrackedTask) -> TrackedTask | None:
        """Track the task; returns it as it was tracked before (None: new)."""
        ...

    def close(
        self, key: str, outcome: str | None, now: datetime, decision: Decision | None = None
    ) -> None:
        """Close the task; `decision` (who decided, kept from the first close that knew) is what
        a later reply's 409 names."""
        ...

    def get(self, key: str) -> TrackedTask | None: ...
    def due(self, now: datetime, limit: int, cursor: str | None = None) -> Page[str]: ...
    def advance(
        self,
        task_key: str,
        from_level: int,
        to_level: int,
        next_at: datetime | None,
        *,
        due_at: datetime,
        step: dict[str, Any] | None = None,
        snooze_at: datetime | None = None,
    ) -> bool: ...
    def advance_unseen(
        self,
        task: TrackedTask,
        to_level: int,
        unseen_at: datetime | None,
        next_at: datetime | None,
        *,
        escalates: bool = False,
        step: dict[str, Any] | None = None,
    ) -> bool: ...
    def snooze(self, task: TrackedTask, until: datetime) -> bool: ...
    def wake(self, task: TrackedTask, next_at: datetime | None) -> bool: ...


class SeenPort(Protocol):
    """adapters/deliveries_repository.py `DeliveriesRepository`: whether a user's device
    displayed or opened one of some pushes (the receipts its deliveries keep)."""

    def seen_by(self, owner: str, notification_ids: Sequence[str]) -> bool: ...


class ProcessFigures(Protocol):
    """adapters/process_figures.py `PowertoolsFigures`: process visibility metrics."""

    def decided(self, *, flow: str, stage: str, seconds: float) -> None: ...


class TrackedStepsPort(Protocol):
    """adapters/tracked_steps_repository.py `TrackedStepsRepository` (read only)."""

    def tasks(self, refs: Sequence[TaskRef]) -> Mapping[TaskRef, TrackedTask]: ...
    def pushes(
        self, tasks: Sequence[TrackedTask], owner: str, *, with_sla: bool = False
    ) -> Mapping[str, list[TrackedPush]]: ...


class RepliesPort(Protocol):
    """adapters/replies_repository.py `RepliesRepository`: one reply per (notification,
    user), and its status."""

    def get(self, notification_id: str, ecm_user: str) -> dict[str, Any] | None: ...
    def claim(self, reply: Reply, now: datetime) -> bool: ...
    def release(self, reply: Reply) -> None: ...
    def mark(self, reply: Reply, status: ReplyStatus, now: datetime, detail: str = "") -> None: ...


class RecordsPort(Protocol):
    """adapters/records_repository.py `RecordsRepository`: records with an expiry."""

    def upsert_from_event(
        self,
        record: Record,
        owners: Sequence[str],
        notify_roles: Sequence[str],
        source: str,
        now: datetime,
    ) -> str: ...
    def due(self, now: datetime, limit: int, cursor: str | None = None) -> Page[TrackedRecord]: ...
    def mark_window(
        self,
        record_key: str,
        expires_at: datetime,
        window: str,
        next_notice_at: datetime | None,
        *,
        notified: bool = True,
        passed: Sequence[str] = (),
    ) -> bool: ...
    def reschedule(
        self, record_key: str, expires_at: datetime, next_notice_at: datetime | None
    ) -> bool: ...


class SweepLeasePort(Protocol):
    """adapters/sweep_lease_store.py `SweepLeaseStore`: one sweep run at a time, and where an
    interrupted search resumes."""

    def acquire_lease(self, name: str, holder: str, until: datetime, now: datetime) -> bool: ...
    def release_lease(self, name: str, holder: str) -> None: ...
    def resume_page(self, name: str, fingerprint: str) -> int: ...
    def save_resume_page(
        self, name: str, fingerprint: str, page: int | None, now: datetime
    ) -> None: ...


class RelayStatePort(Protocol):
    """adapters/relay_state_item.py `RelayStateItem`: the scheduled relay poll's state, one
    JSON document written only over the revision it was read at."""

    def read(self) -> tuple[Mapping[str, Any] | None, int]: ...
    def write(self, document: Mapping[str, Any], expected_revision: int) -> None: ...


class PreferencesPort(Protocol):
    """adapters/preferences_repository.py `PreferencesRepository`."""

    def get(self, owner: str) -> Preferences: ...
    def put(self, owner: str, preferences: Preferences, now: datetime) -> None: ...


class InboxPort(Protocol):
    """adapters/history_repository.py `HistoryRepository`."""

    def page(self, owner: str, limit: int, cursor: str | None) -> Page[dict[str, Any]]:
        """One page of the owner's notifications, newest first; raises `InvalidCursor`."""
        ...

    def unread(self, owner: str) -> int:
        """How many of the owner's notifications have no `read_at` (the badge)."""
        ...

    def mark_read(self, owner: str, notification_id: str, now: datetime) -> str | None:
        """Keep the first `read_at` of the owner's inbox entry; None when it has none."""
        ...

    def mark_all_read(self, owner: str, now: datetime, limit: int) -> tuple[int, bool]:
        """Mark up to `limit` unread entries read: how many, and whether unread ones remain."""
        ...


class ReceiptsPort(Protocol):
    """adapters/receipts_repository.py `ReceiptsRepository`."""

    def states(
        self, owner: str, refs: Sequence[DeliveryRef]
    ) -> Mapping[DeliveryRef, DeliveryState]: ...

    def record(
        self,
        owner: str,
        ref: DeliveryRef,
        state: DeliveryState,
        reports: Mapping[ReceiptEvent, datetime],
    ) -> frozenset[ReceiptEvent] | None: ...


class ReplyWriter(Protocol):
    """services/write_back.py `WriteBackService`, as the response callback applies a reply
    inline."""

    def apply(self, reply: Reply, budget_s: float) -> ReplyStatus:
        """Apply the reply in Content Server within `budget_s`: the outcome, or raise
        `EcmError` / `NoMatchingDisposition` when Content Server could not take it."""
        ...


class OtdsAuthorization(Protocol):
    """adapters/otds_client.py `OtdsClient`: OTDS's OAuth 2.0 endpoints for the sign-in bridge."""

    def authorize_url(self, state: str, code_challenge: str) -> str:
        """`/otdsws/oauth2/auth` with the configured client, redirect URI and scope."""
        ...

    def exchange_code(self, code: str, code_verifier: str) -> str:
        """The user's access token for an authorization code (`/otdsws/oauth2/token`); raises
        `SignInRefused` when OTDS refuses the code."""
        ...

    def current_user(self, access_token: str) -> Mapping[str, Any]:
        """The signed-in user's OTDS record (`/otdsws/rest/currentuser` → `user`)."""
        ...


class ContentServerLogins(Protocol):
    """adapters/ecm/bearer_login.py `BearerLoginCheck`: which login Content Server gives the
    holder of an OTDS access token (`GET /api/v1/auth`), None when it knows no such user."""

    def login_of(self, access_token: str) -> str | None: ...


class CustomTokenMinter(Protocol):
    """adapters/custom_tokens.py `FirebaseCustomTokens`: Firebase custom tokens
    (`auth.create_custom_token`)."""

    def mint(self, uid: str, claims: Mapping[str, str]) -> str: ...
