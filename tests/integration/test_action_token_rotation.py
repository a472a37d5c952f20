"""Issue 9, finding 7 (action-token key): the key Dispatch signs push buttons with rotates like
the webhook secret. Dispatch signs with AWSCURRENT; POST /responses accepts AWSCURRENT and
AWSPREVIOUS, so a button in a push sent before a rotation still works after it, and a token
signed by neither is refused with nothing applied."""

from __future__ import annotations

import time
from typing import Any

import boto3
import pytest

from ecmpush import bootstrap
from ecmpush.domain.replies.action_token import ActionClaims, ActionTokenInvalid, sign, verify
from ecmpush.settings import settings
from tests.integration.harness import ACTION_TOKEN_KEY, Harness
from tests.integration.test_response_callback import APPROVAL, _answer, _ecm_task, _push

NEW_KEY = "rotated-action-token-key-" + "x" * 39


def _rotate(h: Harness) -> None:
    """What finishSecret leaves behind: the new value AWSCURRENT, the old one AWSPREVIOUS."""
    secret_id = h.provisioned.refs["ActionTokenKeySecret"]
    boto3.client("secretsmanager").put_secret_value(SecretId=secret_id, SecretString=NEW_KEY)
    stages = boto3.client("secretsmanager").describe_secret(SecretId=secret_id)
    labels = sorted(s for v in stages["VersionIdsToStages"].values() for s in v)
    assert labels == ["AWSCURRENT", "AWSPREVIOUS"]


def _token(data: dict[str, str], key: str) -> dict[str, str]:
    claims = ActionClaims(
        notification_id=data["notification_id"],
        ecm_user="asmith",
        process_id="4711",
        subprocess_id="4711",
        task_id="1",
        actions=("approve", "reject", "request_info"),
        expires_at=int(time.time()) + 3600,
    )
    return {**data, "action_token": sign(claims, key.encode())}


def _reply_record(h: Harness, data: dict[str, str]) -> Any:
    key = {"notification_id": data["notification_id"], "sk": "r#asmith"}
    return h.table("DeliveriesTable").get_item(Key=key).get("Item")


def test_button_of_a_push_sent_before_the_rotation_works_after_it(harness: Harness) -> None:
    data = _push(harness, APPROVAL)  # signed with ACTION_TOKEN_KEY
    _rotate(harness)
    bootstrap.reset()  # containers started after the rotation read the new AWSCURRENT

    reply = _answer(harness, data, "approve", "asmith", "still fine")
    assert reply.status == 202, reply
    assert _ecm_task(harness, APPROVAL)["disposition_taken"] == "Approve"


def test_pushes_after_the_rotation_are_signed_with_the_new_key(harness: Harness) -> None:
    _rotate(harness)
    bootstrap.reset()
    data = _push(harness, APPROVAL)

    verify(data["action_token"], [NEW_KEY.encode()], time.time())
    with pytest.raises(ActionTokenInvalid):
        verify(data["action_token"], [ACTION_TOKEN_KEY.encode()], time.time())


def test_warm_reply_container_takes_a_token_signed_with_a_key_it_has_not_seen(
    harness: Harness,
) -> None:
    """Dispatch (a cold container) already signs with the new key while this container still
    caches the old one: one rate-limited re-read of the secret, not a 401."""
    data = _push(harness, APPROVAL)
    # The reply container's cache holds the old key only.
    bootstrap.build_secret_store().active_values(settings().action_token_secret_id)
    _rotate(harness)

    reply = _answer(harness, _token(data, NEW_KEY), "approve", "asmith")
    assert reply.status == 202, reply
    assert _ecm_task(harness, APPROVAL)["status"] != "open"


def test_token_of_neither_key_is_refused_and_nothing_is_applied(harness: Harness) -> None:
    data = _push(harness, APPROVAL)
    _rotate(harness)
    bootstrap.reset()

    reply = _answer(harness, _token(data, "a-key-ecmpush-never-had"), "approve", "asmith")
    assert reply.status == 401
    assert _ecm_task(harness, APPROVAL)["status"] == "open"
    assert _reply_record(harness, data) is None
    assert harness.queue_depth(harness.write_back_url) == 0
