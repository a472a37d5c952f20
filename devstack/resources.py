"""Creates the template's tables, queues and secrets in moto, and resolves the intrinsic
functions that appear in function environments, so handlers see the values AWS would give."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

import boto3

from devstack.template import parameter_defaults, resources

REGION = "us-east-1"
ACCOUNT = "123456789012"


@dataclass
class Provisioned:
    """Physical values of `Ref` / `Fn::GetAtt` for the resources created locally."""

    refs: dict[str, str] = field(default_factory=dict)
    arns: dict[str, str] = field(default_factory=dict)
    parameters: dict[str, str] = field(default_factory=dict)
    conditions: dict[str, Any] = field(default_factory=dict)  # the template's Conditions

    def holds(self, condition: str) -> bool:
        """A template condition, from the parameters (Fn::Equals, Not, And, Or, Condition)."""
        return bool(self._evaluate(self.conditions[condition]))

    def _evaluate(self, node: Any) -> Any:
        if isinstance(node, dict) and len(node) == 1:
            ((name, arg),) = node.items()
            if name == "Fn::Equals":
                return str(self._evaluate(arg[0])) == str(self._evaluate(arg[1]))
            if name == "Fn::Not":
                return not self._evaluate(arg[0])
            if name == "Fn::And":
                return all(self._evaluate(a) for a in arg)
            if name == "Fn::Or":
                return any(self._evaluate(a) for a in arg)
            if name == "Condition":
                return self.holds(str(arg))
        return self.resolve(node)

    def resolve(self, value: Any) -> Any:
        if isinstance(value, dict) and len(value) == 1:
            ((name, arg),) = value.items()
            if name == "Fn::If":
                return self.resolve(arg[1] if self.holds(str(arg[0])) else arg[2])
            if name == "Ref":
                return self._ref(str(arg))
            if name == "Fn::GetAtt":
                return self.arns.get(str(arg[0]), str(arg[0]))
            if name == "Fn::Sub":
                text = arg if isinstance(arg, str) else arg[0]
                return re.sub(r"\$\{([^}]+)\}", lambda m: str(self._ref(m.group(1))), text)
            if name == "Fn::Join":
                return str(arg[0]).join(str(self.resolve(part)) for part in arg[1])
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        return value

    def _ref(self, name: str) -> str:
        pseudo = {
            "AWS::Region": REGION,
            "AWS::AccountId": ACCOUNT,
            "AWS::StackName": "ecmpush-local",
            "AWS::StackId": f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/ecmpush-local/local",
            "AWS::Partition": "aws",
        }
        if name in pseudo:
            return pseudo[name]
        if name in self.parameters:
            return self.parameters[name]
        return self.refs.get(name, name)


def _create_table(client: Any, name: str, props: dict[str, Any]) -> None:
    args: dict[str, Any] = {
        "TableName": name,
        "KeySchema": props["KeySchema"],
        "AttributeDefinitions": props["AttributeDefinitions"],
        "BillingMode": "PAY_PER_REQUEST",
    }
    indexes = [
        {k: v for k, v in index.items() if k in ("IndexName", "KeySchema", "Projection")}
        for index in props.get("GlobalSecondaryIndexes", [])
    ]
    if indexes:
        args["GlobalSecondaryIndexes"] = indexes
    client.create_table(**args)


def provision(
    template: dict[str, Any],
    secret_values: dict[str, str],
    parameters: dict[str, str] | None = None,
) -> Provisioned:
    """Create every table, queue and secret of the template; names are the logical ids."""
    out = Provisioned(
        parameters={**parameter_defaults(template), **(parameters or {})},
        conditions=template.get("Conditions", {}),
    )
    dynamodb = boto3.client("dynamodb", region_name=REGION)
    for logical_id, resource in resources(template, "AWS::DynamoDB::Table").items():
        _create_table(dynamodb, logical_id, resource["Properties"])
        out.refs[logical_id] = logical_id
        out.arns[logical_id] = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{logical_id}"

    sqs = boto3.client("sqs", region_name=REGION)
    queues = resources(template, "AWS::SQS::Queue")
    # Dead-letter queues first: the others' redrive policy points at them.
    ordered = sorted(queues, key=lambda q: "RedrivePolicy" in queues[q].get("Properties", {}))
    for logical_id in ordered:
        props = queues[logical_id].get("Properties", {})
        attributes: dict[Any, str] = {}  # keys are the SQS attribute-name literals
        for key in ("VisibilityTimeout", "MessageRetentionPeriod", "DelaySeconds"):
            if key in props:
                attributes[key] = str(out.resolve(props[key]))
        if "RedrivePolicy" in props:
            policy = {k: out.resolve(v) for k, v in props["RedrivePolicy"].items()}
            attributes["RedrivePolicy"] = json.dumps(policy)
        url = sqs.create_queue(QueueName=logical_id, Attributes=attributes)["QueueUrl"]
        out.refs[logical_id] = url
        out.arns[logical_id] = f"arn:aws:sqs:{REGION}:{ACCOUNT}:{logical_id}"

    secrets = boto3.client("secretsmanager", region_name=REGION)
    for logical_id, resource in resources(template, "AWS::SecretsManager::Secret").items():
        if "Condition" in resource and not out.holds(resource["Condition"]):
            continue  # an optional part the parameters leave out (the OTDS sign-in bridge)
        if logical_id not in secret_values:
            raise KeyError(f"no local value for secret {logical_id}")
        arn = secrets.create_secret(Name=logical_id, SecretString=secret_values[logical_id])["ARN"]
        out.refs[logical_id] = logical_id
        out.arns[logical_id] = arn
    return out
