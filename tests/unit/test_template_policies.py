"""Issue 9, finding 7 (least privilege): each function's IAM role, expanded from template.yaml
(SAM policy templates and inline statements, through tests/iam.py), is exactly what its code
needs, as listed here and in docs/resources.md ("Least privilege"). The integration tests hold
every handler call to the same expansion, so a grant listed here but missing from the template
fails there as AccessDenied."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from devstack import template as cfn
from ecmpush.adapters.fcm_pause_store import _KEY as FCM_PAUSE_KEY
from ecmpush.domain.delivery.notifications import notification_id
from tests.iam import (
    POLICY_TEMPLATES,
    arn_label,
    enforcer_for,
    function_grants,
    static_provisioned,
)
from tests.unit.test_template import ROOT, SPEC, TEMPLATE

Grants = set[tuple[str, str]]  # (resource label, IAM action pattern)

_READ = {f"dynamodb:{a}" for a in ("GetItem", "Scan", "Query", "BatchGetItem", "DescribeTable")}
_CRUD = _READ | {
    f"dynamodb:{a}"
    for a in ("DeleteItem", "PutItem", "UpdateItem", "BatchWriteItem", "ConditionCheckItem")
}
_POLLER = {
    f"sqs:{a}"
    for a in (
        "ChangeMessageVisibility",
        "ChangeMessageVisibilityBatch",
        "DeleteMessage",
        "DeleteMessageBatch",
        "GetQueueAttributes",
        "ReceiveMessage",
    )
}
_ITEM_ACTIONS = {
    "get": "GetItem",
    "batchget": "BatchGetItem",
    "put": "PutItem",
    "update": "UpdateItem",
    "delete": "DeleteItem",
    "check": "ConditionCheckItem",
    "query": "Query",
}
_ROTATE = {
    "secretsmanager:DescribeSecret",
    "secretsmanager:GetSecretValue",
    "secretsmanager:PutSecretValue",
    "secretsmanager:UpdateSecretVersionStage",
}
SSM_LABEL = "parameter/ecmpush/routing"  # RoutingParameterName's default


def _table(name: str, actions: set[str], indexes: bool = True) -> Grants:
    grants = {(name, a) for a in actions}
    return grants | ({(f"{name}/index/*", a) for a in actions} if indexes else set())


def _items(name: str, *actions: str) -> Grants:
    return {(name, f"dynamodb:{_ITEM_ACTIONS[a]}") for a in actions}


def _index(table: str, index: str) -> Grants:
    return {(f"{table}/index/{index}", "dynamodb:Query")}


def _send(queue: str) -> Grants:
    return {(queue, "sqs:SendMessage*")}


def _secret(name: str) -> Grants:
    return {(name, "secretsmanager:GetSecretValue")}


_SSM = {
    (SSM_LABEL, a) for a in ("ssm:GetParameters", "ssm:GetParameter", "ssm:GetParametersByPath")
}
_SSM |= {("*", "ssm:DescribeParameters")}

# What each function's code does (the adapters it builds in ecmpush/bootstrap/ and the calls
# they make), nothing more.
EXPECTED: dict[str, Grants] = {
    "WebhookIntakeFunction": _items("IdempotencyTable", "get", "put", "update", "delete")
    | _items("EventsTable", "put")
    | _send("DispatchQueue")
    | _secret("WebhookSecret"),
    "DevicesFunction": _items("DevicesTable", "get", "put", "update", "delete", "check", "query")
    | _index("DevicesTable", "by_installation")
    | _index("DevicesTable", "by_token")
    | _items("DeliveriesTable", "get", "query", "batchget", "update")  # receipts, read marks
    | _index("DeliveriesTable", "by_recipient"),
    # issue 25: reads only, Content Server as the caller with the ECM credentials.
    "ApproverFunction": _items("TasksTable", "batchget")
    | _items("DeliveriesTable", "batchget")
    | _secret("EcmCredentialsSecret"),
    "DispatchFunction": _table("DevicesTable", _CRUD)
    | _table("DeliveriesTable", _CRUD)
    | _table("EventsTable", _CRUD)
    | _table("TasksTable", _CRUD)
    | _table("RecordsTable", _CRUD)
    | _SSM
    | {("DispatchQueue", a) for a in _POLLER}
    | _send("DispatchQueue")
    | _secret("FirebaseServiceAccountSecret")
    | _secret("ActionTokenKeySecret")
    | _secret("EcmCredentialsSecret"),  # members of teams kept as Content Server groups
    "SignInFunction": _secret("OtdsClientSecret") | _secret("SignInServiceAccountSecret"),
    "ResponseCallbackFunction": _items("DeliveriesTable", "get", "put", "update", "delete")
    | _items("TasksTable", "get", "update")
    | _items("DevicesTable", "get")
    | _send("WriteBackQueue")
    | _send("DispatchQueue")
    | _secret("ActionTokenKeySecret")
    | _secret("EcmCredentialsSecret")
    | _SSM,  # the deputies a reply's hand-over must be confirmed by
    "WriteBackFunction": _items("DeliveriesTable", "update")
    | _items("TasksTable", "get", "update")
    | _send("DispatchQueue")
    | {("WriteBackQueue", a) for a in _POLLER}
    | _secret("EcmCredentialsSecret")
    | _SSM,
    "ExpirySweepFunction": _items("RecordsTable", "get", "batchget", "put", "update", "delete")
    | _index("RecordsTable", "notices_due")
    | _send("DispatchQueue")
    | _secret("EcmCredentialsSecret")
    | _SSM,
    "SlaSweepFunction": _items("TasksTable", "get", "update")
    | _index("TasksTable", "sla_due")
    | _send("DispatchQueue")
    | _secret("EcmCredentialsSecret")
    | _SSM  # the deputies who may act on an escalation
    | _items("DeliveriesTable", "query"),  # whether the assignee saw the push (not-seen check)
    "DevicePruneFunction": _index("DevicesTable", "by_refresh")
    | _items("DevicesTable", "delete", "update", "check"),
    "RelayPollFunction": _items("RecordsTable", "get", "put")  # its `#relay:*` item only
    | _items("IdempotencyTable", "get", "put", "update", "delete")
    | _items("EventsTable", "put")
    | _send("DispatchQueue")
    | _secret("EcmCredentialsSecret"),
    "WebhookSecretRotationFunction": {("WebhookSecret", a) for a in _ROTATE}
    | {("ActionTokenKeySecret", a) for a in _ROTATE}
    | {("*", "secretsmanager:GetRandomPassword")},
}


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    loaded: dict[str, Any] = cfn.load(TEMPLATE)
    return loaded


@pytest.fixture(scope="module")
def granted(template: dict[str, Any]) -> dict[str, Grants]:
    return {
        function: {(arn_label(r), a) for g in grants for a in g.actions for r in g.resources}
        for function, grants in function_grants(template, static_provisioned(template)).items()
    }


def test_every_function_is_granted_exactly_what_its_code_needs(granted):
    assert set(granted) == set(EXPECTED)
    for function, expected in EXPECTED.items():
        assert granted[function] == expected, (
            function,
            {"extra": granted[function] - expected, "missing": expected - granted[function]},
        )


def test_only_dispatch_can_read_the_firebase_service_account(granted):
    readers = {
        function
        for function, grants in granted.items()
        if ("FirebaseServiceAccountSecret", "secretsmanager:GetSecretValue") in grants
    }
    assert readers == {"DispatchFunction"}


def test_no_function_but_dispatch_may_scan_or_batch_write(granted):
    for function, grants in granted.items():
        wide = {a for _, a in grants} & {"dynamodb:Scan", "dynamodb:BatchWriteItem"}
        assert not wide or function == "DispatchFunction", (function, wide)


# Issue 20, finding 11c: the partitions of DeliveriesTable a function other than Dispatch may
# write: notification item collections (UUID5 ids), never control items such as FCM's pause.
NOTIFICATION_PARTITIONS = ("????????-????-5???-????-????????????",)
_WRITES = {"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"}
_WRITES |= {"dynamodb:BatchWriteItem", "dynamodb:*"}


def test_only_dispatch_may_write_deliveries_outside_notification_partitions(template):
    """A future grant of DeliveriesTable writes without the LeadingKeys condition fails here."""
    grants = function_grants(template, static_provisioned(template))
    for function, function_grants_ in grants.items():
        for grant in function_grants_:
            writes = {a for a in grant.actions if a in _WRITES or a.endswith("*")}
            on_deliveries = any(arn_label(r).startswith("DeliveriesTable") for r in grant.resources)
            if writes and on_deliveries and function != "DispatchFunction":
                assert grant.leading_keys == NOTIFICATION_PARTITIONS, (function, grant)


@pytest.mark.parametrize("function", ["ResponseCallbackFunction", "WriteBackFunction"])
def test_reply_writers_reach_reply_items_but_not_the_fcm_pause(template, function):
    """What IAM would decide for the calls themselves (tests/iam.py evaluates LeadingKeys)."""
    enforcer = enforcer_for(template, static_provisioned(template))
    nid = notification_id("evt-1", "task.assigned")
    reply = {"TableName": "DeliveriesTable", "Key": {"notification_id": nid, "sk": "r#asmith"}}
    enforcer.check(function, "dynamodb", "UpdateItem", reply)
    pause = {"TableName": "DeliveriesTable", "Key": dict(FCM_PAUSE_KEY)}
    with pytest.raises(ClientError, match="AccessDenied"):
        enforcer.check(function, "dynamodb", "UpdateItem", pause)
    low_level = {"TableName": "DeliveriesTable", "Item": {"notification_id": {"S": "#fcm"}}}
    with pytest.raises(ClientError, match="AccessDenied"):
        enforcer.check(function, "dynamodb", "PutItem", low_level)
    assert FCM_PAUSE_KEY["notification_id"] == "#fcm"


def test_the_relay_poll_reaches_its_state_item_but_no_record(template):
    """RelayPollFunction keeps its state in RecordsTable (`#relay:state`): IAM lets it read and
    write that item and no record of the expiry sweep's."""
    enforcer = enforcer_for(template, static_provisioned(template))
    state = {"TableName": "RecordsTable", "Key": {"record_key": "#relay:state"}}
    enforcer.check("RelayPollFunction", "dynamodb", "GetItem", state)
    enforcer.check("RelayPollFunction", "dynamodb", "PutItem", {**state, "Item": state["Key"]})
    record = {"TableName": "RecordsTable", "Key": {"record_key": "otcs:node:4711"}}
    with pytest.raises(ClientError, match="AccessDenied"):
        enforcer.check("RelayPollFunction", "dynamodb", "GetItem", record)
    with pytest.raises(ClientError, match="AccessDenied"):
        enforcer.check("RelayPollFunction", "dynamodb", "DeleteItem", state)


def test_the_api_functions_verify_id_tokens_with_the_project_id_alone(template):
    env = template["Globals"]["Function"]["Environment"]["Variables"]
    assert env["ECMPUSH_FIREBASE_PROJECT_ID"] == {"Ref": "FirebaseProjectId"}
    param = template["Parameters"]["FirebaseProjectId"]
    assert "Default" not in param  # required: a wrong default would refuse every token
    for good in ("ecmpush-local", "acme-prod-123456"):
        assert re.fullmatch(param["AllowedPattern"], good)
    for bad in ("", "Acme", "a", "ends-with-", "has space"):
        assert not re.fullmatch(param["AllowedPattern"], bad)


def _doc_grants(item: str) -> Grants:
    """One comma-separated item of a docs/resources.md "Least privilege" bullet."""
    item = item.strip()
    if m := re.fullmatch(r"(\w+) CRUD", item):
        return _table(m[1], _CRUD)
    if m := re.fullmatch(r"(\w+) read", item):
        kind = m[1]
        return _table(kind, _READ) if kind.endswith("Table") else _secret(kind)
    if m := re.fullmatch(r"(\w+) items ([a-z/]+)", item):
        return _items(m[1], *m[2].split("/"))
    if m := re.fullmatch(r"(\w+) index (\w+) query", item):
        return _index(m[1], m[2])
    if m := re.fullmatch(r"(\w+) send", item):
        return _send(m[1])
    if m := re.fullmatch(r"(\w+) poller", item):
        return {(m[1], a) for a in _POLLER}
    if re.fullmatch(r"SSM read of `RoutingParameterName`", item):
        return _SSM
    if m := re.fullmatch(r"(\w+) rotate", item):
        return {(m[1], a) for a in _ROTATE}
    if item == "GetRandomPassword on `*`":
        return {("*", "secretsmanager:GetRandomPassword")}
    raise AssertionError(f"cannot read {item!r}")


def test_docs_list_the_same_grants(template):
    section = SPEC.read_text().split("\n### Least privilege\n", 1)[1].split("\n### ", 1)[0]
    bullets = re.findall(r"^- `(\w+)`: (.*)$", section, re.M)
    documented = {
        name: set().union(
            *(_doc_grants(i) for i in re.sub(r"\([^)]*\)", "", text).rstrip(". ").split(", "))
        )
        for name, text in bullets
    }
    assert documented == EXPECTED


def test_policy_templates_match_the_sam_cli_copy():
    """tests/iam.py copies the SAM policy templates it expands; the SAM CLI's venv has the
    original (make template-lint installs it)."""
    found = sorted(ROOT.glob(".venv-sam/lib/python*/site-packages/samtranslator/"
                             "policy_templates_data/policy_templates.json"))  # fmt: skip
    if not found:
        pytest.skip("no .venv-sam with samtranslator (make template-lint creates it)")
    sam = json.loads(Path(found[0]).read_text())["Templates"]
    for name, (argument, statements) in POLICY_TEMPLATES.items():
        original = sam[name]
        assert list(original["Parameters"]) == [argument], name
        assert _normalized(original["Definition"]["Statement"]) == _normalized(statements), name


def _normalized(statements: list[dict[str, Any]]) -> list[dict[str, Any]]:
    def one(value: Any) -> Any:
        return value if isinstance(value, list) else [value]

    return [
        {"Effect": s["Effect"], "Action": sorted(one(s["Action"])), "Resource": one(s["Resource"])}
        for s in statements
    ]


def test_revocation_checks_add_only_the_viewer_secret_to_the_api_functions(template):
    arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:firebase-auth-viewer-AbCdEf"
    provisioned = static_provisioned(template)
    provisioned.parameters["FirebaseAuthSecretArn"] = arn
    on = {
        function: {(r, a) for g in grants for a in g.actions for r in g.resources}
        for function, grants in function_grants(template, provisioned).items()
    }
    viewer = (arn, "secretsmanager:GetSecretValue")
    for function in ("DevicesFunction", "ResponseCallbackFunction", "ApproverFunction"):
        labelled = {(arn_label(r), a) for r, a in on[function] if (r, a) != viewer}
        assert viewer in on[function], function
        assert labelled == EXPECTED[function], function
    assert not any(viewer in grants for f, grants in on.items() if f not in (
        "DevicesFunction", "ResponseCallbackFunction", "ApproverFunction"))  # fmt: skip
