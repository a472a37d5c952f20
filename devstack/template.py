"""Reads template.yaml so the local stack builds exactly what SAM deploys: the same tables,
queues, secrets, functions, routes and environment. One source of truth, no second list."""

from __future__ import annotations

import copy
import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = REPO_ROOT / "template.yaml"


class _CfnLoader(yaml.SafeLoader):
    """SafeLoader that understands the short forms of CloudFormation intrinsic functions."""


def _tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if suffix == "GetAtt":
            value = str(value).split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {name: value}


_CfnLoader.add_multi_constructor("!", _tag)


def load(path: Path = TEMPLATE) -> dict[str, Any]:
    """The template as a fresh document (callers may change their copy). Parsed once per
    content: the test suites read it for every test, and a parse costs a hundred times a
    copy."""
    text = path.read_text()
    return copy.deepcopy(_parsed(text))


@functools.lru_cache(maxsize=4)
def _parsed(text: str) -> dict[str, Any]:
    document: dict[str, Any] = yaml.load(text, Loader=_CfnLoader)  # noqa: S506 - SafeLoader subclass
    return document


@dataclass(frozen=True)
class ApiRoute:
    method: str
    path: str  # API Gateway form: /devices/{installation_id}
    api_key_required: bool = False  # the event's Auth.ApiKeyRequired (x-api-key, usage plan)


DEFAULT_CONCURRENCY = 10  # what an unthrottled function gets locally (Lambda: the account's)


@dataclass(frozen=True)
class FunctionSpec:
    logical_id: str
    code_uri: Path
    handler: str
    timeout: int
    environment: dict[str, Any]
    routes: list[ApiRoute] = field(default_factory=list)
    queues: list[str] = field(default_factory=list)  # logical ids of SQS event sources
    schedules: list[dict[str, Any]] = field(default_factory=list)
    # How many invocations may run at once: ReservedConcurrentExecutions, or the SQS event
    # sources' MaximumConcurrency, else DEFAULT_CONCURRENCY (devstack/lambda_runtime.py).
    concurrency: int = DEFAULT_CONCURRENCY
    condition: str | None = None  # the template condition that creates it (None: always)


def resources(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {
        logical_id: resource
        for logical_id, resource in template.get("Resources", {}).items()
        if resource.get("Type") == kind
    }


def _ref_name(value: Any) -> str | None:
    if isinstance(value, dict):
        if "Ref" in value:
            return str(value["Ref"])
        if "Fn::GetAtt" in value:
            return str(value["Fn::GetAtt"][0])
    return None


def _number(value: Any, parameters: dict[str, str]) -> int | None:
    """A literal or a `Ref` to a parameter (its default); None for anything else."""
    name = _ref_name(value) if isinstance(value, dict) else None
    raw = parameters.get(name, "") if name else value
    try:
        return int(raw)
    except (TypeError, ValueError):
        return None


def _concurrency(
    props: dict[str, Any], globals_: dict[str, Any], parameters: dict[str, str]
) -> int:
    """The most invocations Lambda would run at once: the reserved concurrency, and no more than
    the SQS event sources' MaximumConcurrency (each source may start that many)."""
    reserved = props.get(
        "ReservedConcurrentExecutions", globals_.get("ReservedConcurrentExecutions")
    )
    limits = [_number(reserved, parameters)]
    sqs = [e for e in props.get("Events", {}).values() if e.get("Type") == "SQS"]
    maxima = [
        _number(
            e.get("Properties", {}).get("ScalingConfig", {}).get("MaximumConcurrency"), parameters
        )
        for e in sqs
    ]
    if sqs and all(m is not None for m in maxima):
        limits.append(sum(m for m in maxima if m is not None))
    known = [n for n in limits if n is not None and n > 0]
    return min(known) if known else DEFAULT_CONCURRENCY


def functions(template: dict[str, Any]) -> dict[str, FunctionSpec]:
    globals_ = template.get("Globals", {}).get("Function", {})
    parameters = parameter_defaults(template)
    global_env = globals_.get("Environment", {}).get("Variables", {})
    specs = {}
    for logical_id, resource in resources(template, "AWS::Serverless::Function").items():
        props = resource.get("Properties", {})
        env = {**global_env, **props.get("Environment", {}).get("Variables", {})}
        spec = FunctionSpec(
            logical_id=logical_id,
            code_uri=REPO_ROOT / str(props.get("CodeUri", globals_.get("CodeUri", ""))),
            handler=str(props.get("Handler", globals_.get("Handler", ""))),
            timeout=int(props.get("Timeout", globals_.get("Timeout", 3))),
            environment=env,
            concurrency=_concurrency(props, globals_, parameters),
            condition=resource.get("Condition"),
        )
        for event in props.get("Events", {}).values():
            event_props = event.get("Properties", {})
            if event.get("Type") == "Api":
                spec.routes.append(
                    ApiRoute(
                        str(event_props["Method"]).upper(),
                        str(event_props["Path"]),
                        event_props.get("Auth", {}).get("ApiKeyRequired") is True,
                    )
                )
            elif event.get("Type") == "SQS":
                queue = _ref_name(event_props.get("Queue"))
                if queue:
                    spec.queues.append(queue)
            elif event.get("Type") in ("ScheduleV2", "Schedule"):
                spec.schedules.append(event_props)
        specs[logical_id] = spec
    return specs


def condition_holds(template: dict[str, Any], name: str, parameters: dict[str, str]) -> bool:
    """A template condition for these parameter values (the intrinsics conditions use)."""
    conditions = template.get("Conditions", {})

    def value(node: Any) -> str:
        if isinstance(node, dict) and "Ref" in node:
            return str(parameters.get(node["Ref"], ""))
        if isinstance(node, dict) and "Fn::Join" in node:
            delimiter, items = node["Fn::Join"]
            parts = items if isinstance(items, list) else value(items).split(",")
            return str(delimiter).join(value(p) if isinstance(p, dict) else str(p) for p in parts)
        return str(node)

    def holds(node: Any) -> bool:
        ((fn, arg),) = node.items()
        if fn == "Fn::Equals":
            return value(arg[0]) == value(arg[1])
        if fn == "Fn::Not":
            return not holds(arg[0])
        if fn == "Fn::And":
            return all(holds(a) for a in arg)
        if fn == "Fn::Or":
            return any(holds(a) for a in arg)
        if fn == "Condition":
            return holds(conditions[arg])
        raise ValueError(f"cannot evaluate condition {fn}")

    return holds(conditions[name])


def parameter_defaults(template: dict[str, Any]) -> dict[str, str]:
    return {
        name: str(spec.get("Default", "")) for name, spec in template.get("Parameters", {}).items()
    }
