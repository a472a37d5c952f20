"""The template's IAM, enforced on the handlers the integration tests run in-process.

moto grants everything, so a function whose policy lacks a permission its code needs would pass
every test here and fail in AWS with AccessDenied; and a policy wider than the code needs would
go unnoticed. This module expands each function's `Policies` (the SAM policy templates it uses,
copied from samtranslator's policy_templates.json, plus inline statements) into the actions and
resource ARNs IAM would allow, maps every AWS call a handler makes to the action and resource
IAM would check, and refuses (AccessDeniedException) what the function's role would refuse.

A call belongs to a function when it runs on that function's invocation thread (`invoke-<id>`,
devstack/lambda_runtime.py); calls of the tests themselves are not checked."""

from __future__ import annotations

import fnmatch
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from unittest.mock import patch

import botocore.client
from botocore.exceptions import ClientError

from devstack import template as cfn
from devstack.resources import ACCOUNT, REGION, Provisioned

_TABLE = "arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:table/${tableName}"
_QUEUE = "arn:${AWS::Partition}:sqs:${AWS::Region}:${AWS::AccountId}:${queueName}"
_PARAMETER = "arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter/${parameterName}"


def _resources(pattern: str, variable: str, argument: str) -> list[Any]:
    return [{"Fn::Sub": [pattern, {variable: {"Ref": argument}}]}]


_DYNAMO_READ = ["GetItem", "Scan", "Query", "BatchGetItem", "DescribeTable"]
_DYNAMO_CRUD = [*_DYNAMO_READ, "DeleteItem", "PutItem", "UpdateItem", "BatchWriteItem"]
_DYNAMO_CRUD.append("ConditionCheckItem")
_TABLE_AND_INDEXES = [
    *_resources(_TABLE, "tableName", "TableName"),
    *_resources(_TABLE + "/index/*", "tableName", "TableName"),
]
_POLLER = ["ChangeMessageVisibility", "ChangeMessageVisibilityBatch", "DeleteMessage"]
_POLLER += ["DeleteMessageBatch", "GetQueueAttributes", "ReceiveMessage"]

# The SAM policy templates template.yaml uses: name -> (argument, statements). Copied from
# samtranslator/policy_templates_data/policy_templates.json (tests/unit/test_template_policies.py
# compares them with the installed SAM CLI's copy).
POLICY_TEMPLATES: dict[str, tuple[str, list[dict[str, Any]]]] = {
    "DynamoDBCrudPolicy": (
        "TableName",
        [{"Effect": "Allow", "Action": [f"dynamodb:{a}" for a in _DYNAMO_CRUD],
          "Resource": _TABLE_AND_INDEXES}],
    ),
    "DynamoDBReadPolicy": (
        "TableName",
        [{"Effect": "Allow", "Action": [f"dynamodb:{a}" for a in _DYNAMO_READ],
          "Resource": _TABLE_AND_INDEXES}],
    ),
    "SQSSendMessagePolicy": (
        "QueueName",
        [{"Effect": "Allow", "Action": ["sqs:SendMessage*"],
          "Resource": _resources(_QUEUE, "queueName", "QueueName")[0]}],
    ),
    "SQSPollerPolicy": (
        "QueueName",
        [{"Effect": "Allow", "Action": [f"sqs:{a}" for a in _POLLER],
          "Resource": _resources(_QUEUE, "queueName", "QueueName")[0]}],
    ),
    "AWSSecretsManagerGetSecretValuePolicy": (
        "SecretArn",
        [{"Effect": "Allow", "Action": ["secretsmanager:GetSecretValue"],
          "Resource": {"Fn::Sub": ["${secretArn}", {"secretArn": {"Ref": "SecretArn"}}]}}],
    ),
    "SSMParameterReadPolicy": (
        "ParameterName",
        [
            {"Effect": "Allow", "Action": ["ssm:DescribeParameters"], "Resource": "*"},
            {"Effect": "Allow",
             "Action": ["ssm:GetParameters", "ssm:GetParameter", "ssm:GetParametersByPath"],
             "Resource": _resources(_PARAMETER, "parameterName", "ParameterName")[0]},
        ],
    ),
}  # fmt: skip


@dataclass(frozen=True)
class Grant:
    actions: tuple[str, ...]  # IAM action patterns (`*` wildcards)
    resources: tuple[str, ...]  # ARN patterns
    # `dynamodb:LeadingKeys` patterns (`ForAllValues:StringLike`): the partition keys the
    # statement is limited to; None when it has no condition.
    leading_keys: tuple[str, ...] | None = None

    def allows(self, action: str, resource: str, leading_key: str | None = None) -> bool:
        """`leading_key`: the partition key the request names (None: none IAM could read, which
        a statement limited to some partitions does not allow)."""
        if not (
            any(fnmatch.fnmatchcase(action, a) for a in self.actions)
            and any(fnmatch.fnmatchcase(resource, r) for r in self.resources)
        ):
            return False
        if self.leading_keys is None:
            return True
        return leading_key is not None and any(
            fnmatch.fnmatchcase(leading_key, k) for k in self.leading_keys
        )


def _leading_keys(condition: dict[str, Any]) -> tuple[str, ...]:
    """The one condition template.yaml uses. Any other is refused here rather than ignored, so
    a statement is never read as wider (or narrower) than IAM reads it."""
    assert set(condition) == {"ForAllValues:StringLike"}, condition
    operator = condition["ForAllValues:StringLike"]
    assert set(operator) == {"dynamodb:LeadingKeys"}, condition
    patterns = operator["dynamodb:LeadingKeys"]
    patterns = patterns if isinstance(patterns, list) else [patterns]
    assert all("[" not in p for p in patterns), "IAM has no character classes; fnmatch has"
    return tuple(patterns)


class _Resolver:
    """CloudFormation's values of the intrinsics policies use, for the locally provisioned
    resources (`Ref` of a secret is its ARN, of a table its name, of a queue its URL)."""

    def __init__(self, template: dict[str, Any], provisioned: Provisioned) -> None:
        self._types = {k: v["Type"] for k, v in template["Resources"].items()}
        self._conditions = template.get("Conditions", {})
        self._provisioned = provisioned

    def condition(self, node: Any) -> bool:
        """A template condition (by name) or condition expression, for the local parameters."""
        if isinstance(node, str):
            return self.condition(self._conditions[node])
        ((fn, arg),) = node.items()
        if fn == "Fn::Equals":
            left, right = (str(self.value(a)) for a in arg)
            return left == right
        if fn == "Fn::Not":
            return not self.condition(arg[0])
        if fn == "Fn::And":
            return all(self.condition(a) for a in arg)
        if fn == "Fn::Or":
            return any(self.condition(a) for a in arg)
        if fn == "Condition":
            return self.condition(arg)
        raise AssertionError(f"cannot evaluate condition {fn}")

    def chosen(self, node: Any) -> Any:
        """`Fn::If` resolved (None for AWS::NoValue); anything else as is."""
        if isinstance(node, dict) and set(node) == {"Fn::If"}:
            name, yes, no = node["Fn::If"]
            branch = yes if self.condition(name) else no
            return None if branch == {"Ref": "AWS::NoValue"} else self.chosen(branch)
        return node

    def ref(self, name: str) -> str:
        if self._types.get(name) == "AWS::SecretsManager::Secret":
            return self._provisioned.arns[name]
        return str(self._provisioned._ref(name))

    def _variable(self, name: str, values: dict[str, Any]) -> Any:
        if name in values:
            return values[name]
        if "." in name and not name.startswith("AWS::"):  # ${Resource.Attribute}
            return self.value({"Fn::GetAtt": name.split(".", 1)})
        return self.ref(name)

    def value(self, node: Any, local: dict[str, Any] | None = None) -> Any:
        local = local or {}
        if isinstance(node, list):
            return [self.value(n, local) for n in node]
        if not isinstance(node, dict):
            return node
        ((fn, arg),) = node.items()
        if fn == "Ref":
            return self.value(local[arg], {}) if arg in local else self.ref(arg)
        if fn == "Fn::GetAtt":
            logical_id, attribute = arg if isinstance(arg, list) else arg.split(".", 1)
            if attribute == "Arn":
                return self._provisioned.arns[logical_id]
            if attribute == "QueueName":
                return logical_id  # devstack/resources.py names queues after their logical id
            raise AssertionError(f"no local value for {logical_id}.{attribute}")
        if fn == "Fn::Sub":
            text, variables = (arg, {}) if isinstance(arg, str) else arg
            values = {k: self.value(v, local) for k, v in variables.items()}
            return re.sub(r"\$\{([^}]+)\}", lambda m: str(self._variable(m[1], values)), text)
        if fn == "Fn::Split":
            delimiter, source = arg
            return str(self.value(source, local)).split(delimiter)
        if fn == "Fn::Select":
            index, items = arg
            return self.value(items, local)[int(index)]
        if fn == "Fn::Join":  # a CommaDelimitedList parameter's value is its comma text here
            delimiter, items = arg
            joined = self.value(items, local)
            parts = joined if isinstance(joined, list) else str(joined).split(",")
            return delimiter.join(str(part) for part in parts)
        raise AssertionError(f"cannot evaluate {fn} in a policy")


def _grants(statements: list[dict[str, Any]], resolve: Any) -> list[Grant]:
    grants = []
    for statement in statements:
        assert statement["Effect"] == "Allow", statement
        actions = statement["Action"]
        resources = resolve(statement["Resource"])
        condition = statement.get("Condition")
        grants.append(
            Grant(
                tuple(actions if isinstance(actions, list) else [actions]),
                tuple(resources if isinstance(resources, list) else [resources]),
                None if condition is None else _leading_keys(condition),
            )
        )
    return grants


def function_grants(template: dict[str, Any], provisioned: Provisioned) -> dict[str, list[Grant]]:
    """Per function logical id: what its execution role allows (beyond the managed policies SAM
    adds for logs, X-Ray and the SQS event source, which involve no call of our code)."""
    resolver = _Resolver(template, provisioned)
    out: dict[str, list[Grant]] = {}
    for name, resource in template["Resources"].items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        if "Condition" in resource and not resolver.condition(resource["Condition"]):
            continue  # an optional function the parameters leave out
        grants: list[Grant] = []
        for policy in (resolver.chosen(p) for p in resource["Properties"].get("Policies", [])):
            if policy is None:
                continue
            if "Statement" in policy:
                grants += _grants(policy["Statement"], resolver.value)
                continue
            ((kind, args),) = policy.items()
            argument, statements = POLICY_TEMPLATES[kind]
            local = {argument: args[argument]}
            grants += _grants(statements, lambda node, local=local: resolver.value(node, local))
        out[name] = grants
    return out


def static_provisioned(template: dict[str, Any]) -> Provisioned:
    """AWS-shaped physical values (names after the logical ids, as devstack provisions them)
    for reading the policies without moto."""
    # The optional OTDS sign-in bridge and relay poll switched on, so their functions' policies
    # are read too.
    parameters = {
        **cfn.parameter_defaults(template),
        "OtdsBaseUrl": "https://otds.example.com",
        "EnableRelay": "true",
    }
    out = Provisioned(parameters=parameters, conditions=template.get("Conditions", {}))
    arn = {
        "AWS::DynamoDB::Table": "arn:aws:dynamodb:{r}:{a}:table/{n}",
        "AWS::SQS::Queue": "arn:aws:sqs:{r}:{a}:{n}",
        "AWS::SecretsManager::Secret": "arn:aws:secretsmanager:{r}:{a}:secret:{n}",
    }
    for name, resource in template["Resources"].items():
        if resource["Type"] in arn:
            out.refs[name] = name
            out.arns[name] = arn[resource["Type"]].format(r=REGION, a=ACCOUNT, n=name)
    return out


def arn_label(arn: str) -> str:
    """The part of an ARN that names the resource: `Table[/index/i]`, a queue, a secret, an
    SSM parameter path; `*` as is."""
    if arn == "*":
        return arn
    resource = arn.split(":", 5)[5]
    for prefix in ("table/", "secret:"):
        resource = resource.removeprefix(prefix)
    return resource


_TRANSACT_ACTIONS = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
}


def _table_arn(table: str, index: str | None = None) -> str:
    arn = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{table}"
    return f"{arn}/index/{index}" if index else arn


Request = tuple[str, str, str | None]  # IAM action, resource ARN, partition key (LeadingKeys)


def _leading_key(body: dict[str, Any], hash_keys: dict[str, str]) -> str | None:
    """The partition key value of one item request (`Key`, or a put's `Item`), as IAM's
    `dynamodb:LeadingKeys` sees it; None when the request names no single item."""
    name = hash_keys.get(str(body.get("TableName")))
    item = body.get("Key") or body.get("Item") or {}
    value = item.get(name) if name else None
    if isinstance(value, dict) and len(value) == 1:  # a low-level client's {"S": "..."}
        value = next(iter(value.values()))
    return None if value is None else str(value)


def checked_requests(
    service: str,
    operation: str,
    params: dict[str, Any],
    hash_keys: dict[str, str] | None = None,
) -> list[Request]:
    """What IAM authorizes for one API call: (action, resource ARN, partition key) each.
    `hash_keys`: table name -> its partition key attribute."""
    keys = hash_keys or {}
    if service == "dynamodb":
        if operation == "TransactWriteItems":
            return [
                (
                    f"dynamodb:{_TRANSACT_ACTIONS[kind]}",
                    _table_arn(body["TableName"]),
                    _leading_key(body, keys),
                )
                for item in params["TransactItems"]
                for kind, body in item.items()
            ]
        if operation == "BatchGetItem":
            # IAM evaluates `dynamodb:LeadingKeys` over every key a batch read names.
            return [
                (
                    f"dynamodb:{operation}",
                    _table_arn(t),
                    _leading_key({"TableName": t, "Key": key}, keys),
                )
                for t, request in params["RequestItems"].items()
                for key in request["Keys"]
            ]
        if operation == "BatchWriteItem":
            return [(f"dynamodb:{operation}", _table_arn(t), None) for t in params["RequestItems"]]
        arn = _table_arn(params["TableName"], params.get("IndexName"))
        return [(f"dynamodb:{operation}", arn, _leading_key(params, keys))]
    if service == "sqs":
        name = str(params["QueueUrl"]).rstrip("/").rsplit("/", 1)[-1]
        return [(f"sqs:{operation}", f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}", None)]
    if service == "secretsmanager":
        return [(f"secretsmanager:{operation}", str(params["SecretId"]), None)]
    if service == "ssm":
        name = str(params["Name"]).lstrip("/")
        return [(f"ssm:{operation}", f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/{name}", None)]
    return [(f"{service}:{operation}", "*", None)]


@dataclass
class IamEnforcer:
    grants: dict[str, list[Grant]]
    secret_arns: dict[str, str]  # secret name -> ARN (locally the env carries names)
    hash_keys: dict[str, str] = field(default_factory=dict)  # table name -> partition key
    calls: list[tuple[str, str, str]] = field(default_factory=list)  # function, action, ARN
    denied: list[tuple[str, str, str]] = field(default_factory=list)

    def check(self, function: str, service: str, operation: str, params: dict[str, Any]) -> None:
        for action, resource, key in checked_requests(service, operation, params, self.hash_keys):
            resource = self.secret_arns.get(resource, resource)
            self.calls.append((function, action, resource))
            if not any(g.allows(action, resource, key) for g in self.grants.get(function, [])):
                self.denied.append((function, action, resource))
                where = "" if key is None else f" (partition {key!r})"
                raise ClientError(
                    {
                        "Error": {
                            "Code": "AccessDeniedException",
                            "Message": f"{function} is not authorized to perform {action} "
                            f"on {resource}{where} (template.yaml Policies)",
                        }
                    },
                    operation,
                )

    def used(self, function: str) -> set[tuple[str, str]]:
        return {(a, r) for f, a, r in self.calls if f == function}


def table_hash_keys(template: dict[str, Any], provisioned: Provisioned) -> dict[str, str]:
    """Physical table name -> the attribute IAM's `dynamodb:LeadingKeys` reads."""
    return {
        str(provisioned._ref(name)): next(
            k["AttributeName"]
            for k in resource["Properties"]["KeySchema"]
            if k["KeyType"] == "HASH"
        )
        for name, resource in template["Resources"].items()
        if resource["Type"] == "AWS::DynamoDB::Table"
    }


def enforcer_for(template: dict[str, Any], provisioned: Provisioned) -> IamEnforcer:
    return IamEnforcer(
        grants=function_grants(template, provisioned),
        secret_arns={
            name: arn
            for name, arn in provisioned.arns.items()
            if template["Resources"][name]["Type"] == "AWS::SecretsManager::Secret"
        },
        hash_keys=table_hash_keys(template, provisioned),
    )


@contextmanager
def enforce_iam(template: dict[str, Any], provisioned: Provisioned) -> Iterator[IamEnforcer]:
    enforcer = enforcer_for(template, provisioned)
    real_call = botocore.client.BaseClient._make_api_call  # type: ignore[attr-defined]

    def call(client: Any, operation: str, params: dict[str, Any]) -> Any:
        thread = threading.current_thread().name
        if thread.startswith("invoke-"):
            service = client.meta.service_model.endpoint_prefix
            enforcer.check(thread.removeprefix("invoke-"), service, operation, params)
        return real_call(client, operation, params)

    with patch.object(botocore.client.BaseClient, "_make_api_call", call):
        yield enforcer
