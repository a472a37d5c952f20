"""Issue 9, finding 7 (least privilege), as behaviour: the handlers do their work with the IAM
template.yaml gives them (tests/iam.py enforces it on every integration test), and the API
functions never touch the Firebase service-account secret: ID tokens are verified with the
project id alone."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from tests.integration.harness import Harness
from tests.integration.test_response_callback import APPROVAL, _answer, _ecm_task, _push

API_FUNCTIONS = ("DevicesFunction", "ResponseCallbackFunction")


def _firebase_secret_reads(h: Harness) -> set[str]:
    assert h.iam is not None
    arn = h.provisioned.arns["FirebaseServiceAccountSecret"]
    return {function for function, _, resource in h.iam.calls if resource == arn}


def test_register_push_and_reply_without_the_service_account_in_the_api(harness: Harness) -> None:
    data = _push(harness, APPROVAL)  # PUT /devices, the webhook, Dispatch
    me = harness.identity.mint_id_token("asmith")
    assert harness.app_call(harness.devices_fn, "GET", "/me/notifications", bearer=me).status == 200
    assert harness.app_call(harness.devices_fn, "GET", "/me/preferences", bearer=me).status == 200
    reply = _answer(harness, data, "approve", "asmith", "fine")
    assert reply.status == 202, reply
    assert _ecm_task(harness, APPROVAL)["disposition_taken"] == "Approve"

    assert harness.iam is not None
    assert not harness.iam.denied
    called = {function for function, _, _ in harness.iam.calls}
    assert set(API_FUNCTIONS) <= called
    # Only Dispatch, which sends the pushes, read the service account.
    assert _firebase_secret_reads(harness) == {"DispatchFunction"}


def test_a_call_outside_the_role_is_refused_as_aws_would(harness: Harness) -> None:
    """The enforcement itself: Devices reading the service-account secret is AccessDenied."""
    assert harness.iam is not None
    arn = harness.provisioned.arns["FirebaseServiceAccountSecret"]
    with pytest.raises(ClientError, match="AccessDenied"):
        harness.iam.check("DevicesFunction", "secretsmanager", "GetSecretValue", {"SecretId": arn})
    with pytest.raises(ClientError, match="AccessDenied"):
        harness.iam.check("DevicePruneFunction", "dynamodb", "Scan", {"TableName": "DevicesTable"})
    harness.iam.check("DispatchFunction", "secretsmanager", "GetSecretValue", {"SecretId": arn})
