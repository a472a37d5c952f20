"""The two services around action tokens: the signer gives one token per recipient, only for a
push with reply buttons on a task, signed with the key current at that moment; the rotation
helper re-reads the keys once when none matched, so a key added by a rotation is accepted and
a forgery still refused."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest

from ecmpush.domain.replies.action_token import ActionTokenUnknownKey, verify
from ecmpush.services.action_tokens import ActionTokenSigner
from ecmpush.services.rotating_keys import verify_with_rotation
from tests.unit.test_dispatch_service import notification

NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
OLD, NEW, FORGED = b"k" * 32, b"n" * 32, b"f" * 32


def test_each_recipient_gets_their_own_token_for_the_task_and_its_buttons() -> None:
    signer = ActionTokenSigner(lambda: OLD, timedelta(days=7))
    push = notification(["asmith", "bjones"])
    token = signer.for_recipient(push, "asmith", NOW)
    assert token is not None
    assert token != signer.for_recipient(push, "bjones", NOW)
    claims = verify(token, [OLD], NOW.timestamp())
    assert (claims.ecm_user, claims.notification_id) == ("asmith", push.id)
    assert (claims.process_id, claims.subprocess_id, claims.task_id) == ("1", "2", "3")
    assert claims.actions == ("approve", "reject", "request_info")
    assert claims.expires_at == int((NOW + timedelta(days=7)).timestamp())


def test_no_token_for_a_push_without_buttons() -> None:
    signer = ActionTokenSigner(lambda: OLD, timedelta(days=7))
    assert signer.for_recipient(notification(["asmith"], actions=[]), "asmith", NOW) is None
    bare = notification(["asmith"], actions=[], task=None)  # buttons need a task (Notification)
    assert signer.for_recipient(bare, "asmith", NOW) is None


def test_the_key_is_read_per_token_so_a_rotation_is_picked_up() -> None:
    current = [OLD]
    signer = ActionTokenSigner(lambda: current[0], timedelta(days=7))
    first = signer.for_recipient(notification(["asmith"]), "asmith", NOW)
    current[0] = NEW
    second = signer.for_recipient(notification(["asmith"]), "asmith", NOW)
    assert first is not None
    assert second is not None
    verify(first, [OLD], NOW.timestamp())
    verify(second, [NEW], NOW.timestamp())


def _rotation(token: str, cached: Sequence[bytes], fresh: Sequence[bytes] | None) -> list[str]:
    reads: list[str] = []

    def refreshed() -> Sequence[bytes] | None:
        reads.append("fresh")
        return fresh

    verify_with_rotation(
        lambda keys: verify(token, keys, NOW.timestamp()),
        lambda: cached,
        refreshed,
        ActionTokenUnknownKey,
    )
    return reads


def test_a_key_the_cache_has_not_seen_is_found_with_one_fresh_read() -> None:
    token = ActionTokenSigner(lambda: NEW, timedelta(days=1)).for_recipient(
        notification(["asmith"]), "asmith", NOW
    )
    assert token is not None
    assert _rotation(token, [OLD], [NEW, OLD]) == ["fresh"]
    assert _rotation(token, [NEW], [NEW]) == []  # a cached key matches: no read


@pytest.mark.parametrize("fresh", [[OLD, NEW], None], ids=["re-read", "re-read-refused"])
def test_a_forgery_is_refused_after_at_most_one_fresh_read(fresh: list[bytes] | None) -> None:
    forged = ActionTokenSigner(lambda: FORGED, timedelta(days=1)).for_recipient(
        notification(["asmith"]), "asmith", NOW
    )
    assert forged is not None
    with pytest.raises(ActionTokenUnknownKey):
        _rotation(forged, [OLD], fresh)
