"""ResponseCallbackService with in-memory fakes: a reply is accepted only from the token's
recipient, for a button it was sent with, once, for a task still open; then it is applied at
once, refused for good (its single use given back), or queued, and never lost in between."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest

from ecmpush.domain.delivery.devices import Device
from ecmpush.domain.delivery.withdrawal import Decision
from ecmpush.domain.ecm.errors import EcmRejected, EcmUnavailable
from ecmpush.domain.identity import Principal
from ecmpush.domain.replies.action_token import (
    ActionClaims,
    ActionTokenExpired,
    ActionTokenInvalid,
    sign,
)
from ecmpush.domain.replies.dispositions import NoMatchingDisposition
from ecmpush.domain.replies.requests import ReplyConflict, ReplyForbidden, ReplyRequest, ReplyStatus
from ecmpush.domain.replies.write_back import Reply
from ecmpush.domain.sweeps.tasks import TrackedTask
from ecmpush.services.response_callback import ResponseCallbackService
from tests.fakes import Queue, ReplyLedger, Shelf, tracked_task

NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
KEY, OLD_KEY, NEW_KEY = b"k" * 32, b"o" * 32, b"n" * 32
ASMITH = Principal(uid="uid-asmith", ecm_user="asmith")
INSTALLATION = "asmith-phone-7Kq2xR9m"
NOTHING_OFFERED = SimpleNamespace(actions=[], custom_actions=[])  # a form with no dispositions


def token(key: bytes = KEY, **changes: Any) -> str:
    claims: dict[str, Any] = {
        "notification_id": "n-1",
        "ecm_user": "asmith",
        "process_id": "4711",
        "subprocess_id": "4711",
        "task_id": "1",
        "actions": ("approve", "reject", "request_info"),
        "expires_at": int((NOW + timedelta(days=1)).timestamp()),
    }
    claims.update(changes)
    return sign(ActionClaims(**claims), key)


def request(action: str = "approve", **changes: Any) -> ReplyRequest:
    return ReplyRequest(action_token=changes.pop("action_token", token()), action=action, **changes)


class Writer:
    """`ReplyWriter`: answers `outcome`, or raises `error`."""

    def __init__(self, outcome: ReplyStatus = ReplyStatus.APPLIED) -> None:
        self.outcome = outcome
        self.error: Exception | None = None
        self.applied: list[tuple[Reply, float]] = []

    def apply(self, reply: Reply, budget_s: float) -> ReplyStatus:
        self.applied.append((reply, budget_s))
        if self.error is not None:
            raise self.error
        return self.outcome


class World:
    def __init__(self) -> None:
        self.keys = [KEY]
        self.refreshed: list[bytes] | None = None
        self.replies = ReplyLedger()
        self.tasks: Shelf[TrackedTask] = Shelf()
        self.devices: Shelf[Device] = Shelf()
        self.writer = Writer()
        self.queue: Queue[Reply] = Queue()
        self.service = ResponseCallbackService(
            action_token_keys=lambda: self.keys,
            refreshed_action_token_keys=lambda: self.refreshed,
            replies=self.replies,
            tasks=self.tasks,
            devices=self.devices,
            writer=self.writer,
            queue=self.queue,
            clock=lambda: NOW,
            inline_budget_s=4.0,
        )


def _tracked(status: str) -> TrackedTask:
    return tracked_task(status=status, opened_at=NOW - timedelta(hours=1))


def test_a_valid_reply_is_claimed_once_for_its_task_with_the_device_platform() -> None:
    w = World()
    w.devices.items[("asmith", INSTALLATION)] = Device(
        owner="asmith",
        installation_id=INSTALLATION,
        token="fcm-token",
        platform="ios",
        created_at=NOW,
        updated_at=NOW,
    )
    reply = w.service.accept(ASMITH, request(comment="Looks fine", installation_id=INSTALLATION))
    assert (reply.task.key, reply.action, reply.comment) == ("4711/4711/1", "approve", "Looks fine")
    assert (reply.platform, reply.replied_at) == ("ios", NOW)
    assert w.replies.items[("n-1", "asmith")] is reply
    with pytest.raises(ReplyConflict):
        w.service.accept(ASMITH, request("reject"))


@pytest.mark.parametrize(
    ("principal", "action"),
    [
        pytest.param(Principal(uid="u2", ecm_user="bjones"), "approve", id="another-user"),
        pytest.param(Principal(uid="u3", ecm_user=None), "approve", id="no-ecm-user"),
        pytest.param(ASMITH, "acknowledge", id="button-not-offered"),
    ],
)
def test_only_the_recipient_may_answer_with_a_button_they_were_sent(
    principal: Principal, action: str
) -> None:
    w = World()
    with pytest.raises(ReplyForbidden):
        w.service.accept(principal, request(action))
    assert w.replies.items == {}


def test_a_reply_to_a_closed_task_is_refused_before_anything_is_claimed() -> None:
    w = World()
    w.tasks.items["4711/4711/1"] = _tracked("closed")
    with pytest.raises(ReplyConflict):
        w.service.accept(ASMITH, request())
    assert w.replies.items == {}
    w.tasks.items["4711/4711/1"] = _tracked("open")
    assert w.service.accept(ASMITH, request()).action == "approve"


def test_a_withdrawn_push_answers_who_decided() -> None:
    """The task records who decided (TasksRepository.close): a button tapped on a push it
    withdrew, or a second device of the decider's, gets the 409 naming them."""
    w = World()
    decision = Decision(by="bjones", action="approve", platform="android", at=NOW)
    w.tasks.items["4711/4711/1"] = _tracked("closed").model_copy(update={"decision": decision})
    with pytest.raises(ReplyConflict, match=r"^already decided: approved by bjones on Android at "):
        w.service.accept(ASMITH, request())
    assert w.replies.items == {}
    w.tasks.items["4711/4711/1"] = _tracked("open")
    w.service.accept(ASMITH, request())  # answered here: the task is still open meanwhile
    w.tasks.items["4711/4711/1"] = _tracked("closed").model_copy(update={"decision": decision})
    with pytest.raises(ReplyConflict, match=r"^already decided: approved by bjones"):
        w.service.accept(ASMITH, request("reject"))


def test_a_token_for_a_task_content_server_cannot_have_is_refused_and_claims_nothing() -> None:
    """Tokens signed before the webhook checked task ids may name one like `WF-9`."""
    w = World()
    with pytest.raises(ReplyConflict, match="no Content Server task"):
        w.service.accept(ASMITH, request(action_token=token(process_id="WF-9")))
    assert w.replies.items == {}


def test_tokens_signed_with_a_key_rotated_in_since_are_checked_against_fresh_keys() -> None:
    w = World()
    with pytest.raises(ActionTokenInvalid):
        w.service.accept(ASMITH, request(action_token=token(NEW_KEY)))
    w.refreshed = [NEW_KEY, KEY]
    assert w.service.accept(ASMITH, request(action_token=token(NEW_KEY))).action == "approve"


def test_an_expired_or_forged_token_claims_nothing() -> None:
    w = World()
    expired = token(expires_at=int((NOW - timedelta(seconds=1)).timestamp()))
    with pytest.raises(ActionTokenExpired):
        w.service.accept(ASMITH, request(action_token=expired))
    with pytest.raises(ActionTokenInvalid):
        w.service.accept(ASMITH, request(action_token=token(OLD_KEY)))
    assert w.replies.items == {}


def test_applied_at_once_within_the_inline_budget() -> None:
    w = World()
    reply = w.service.accept(ASMITH, request())
    assert w.service.apply_or_queue(reply) is ReplyStatus.APPLIED
    assert w.writer.applied == [(reply, 4.0)]
    assert w.queue.published == []


@pytest.mark.parametrize(
    "error",
    [
        pytest.param(EcmRejected("not the holder", status=400), id="ecm-refused"),
        pytest.param(
            NoMatchingDisposition(
                "approve", ["Approve"], SimpleNamespace(actions=[], custom_actions=[])
            ),
            id="no-disposition",
        ),
    ],
)
def test_a_reply_content_server_refuses_on_its_merits_is_409_and_its_use_given_back(
    error: Exception,
) -> None:
    w = World()
    reply = w.service.accept(ASMITH, request())
    w.writer.error = error
    with pytest.raises(ReplyConflict):
        w.service.apply_or_queue(reply)
    assert w.replies.released == [reply.response_id]
    assert w.queue.published == []
    assert w.service.accept(ASMITH, request("reject")).action == "reject"  # may answer again


def test_content_server_down_queues_the_reply_and_a_failed_queue_gives_its_use_back() -> None:
    w = World()
    reply = w.service.accept(ASMITH, request())
    w.writer.error = EcmUnavailable("503", status=503)
    assert w.service.apply_or_queue(reply) is ReplyStatus.QUEUED
    assert w.queue.published == [reply]
    assert w.replies.released == []
    second = World()
    reply = second.service.accept(ASMITH, request())
    second.writer.error = EcmUnavailable("503", status=503)
    second.queue.fail = RuntimeError("SQS unreachable")
    with pytest.raises(RuntimeError):
        second.service.apply_or_queue(reply)
    assert second.replies.released == [reply.response_id]  # the user can simply try again


def test_a_task_finished_by_someone_else_in_content_server_is_409() -> None:
    w = World()
    w.writer.outcome = ReplyStatus.TASK_CLOSED
    with pytest.raises(ReplyConflict):
        w.service.apply_or_queue(w.service.accept(ASMITH, request()))
