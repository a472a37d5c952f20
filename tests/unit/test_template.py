"""Invariants of template.yaml: what must hold for every resource of a kind, derived from the
template and from the code it deploys (what cfn-lint cannot know). Each invariant yields its
violations; `test_invariant_holds` runs it on template.yaml and `test_invariant_catches` on
copies broken on purpose (every invariant has some), so none can pass vacuously. The literal
values left are decisions nothing derives: python3.13 on arm64, the contract's authentication
of each route, AWS's own limits."""

from __future__ import annotations

import ast
import copy
import functools
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import layer_check
import pytest

from devstack import template as cfn
from ecmpush.settings import Settings
from ecmpush.settings import variable as settings_variable
from tests.iam import arn_label, function_grants, static_provisioned

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"
SPEC = ROOT / "docs" / "resources.md"
SHARED = ROOT / "layers" / "shared"

Template = dict[str, Any]
Problems = Iterator[str]
Mutation = Callable[[Template], None]

# -- decisions and AWS's rules -------------------------------------------------------------------
RUNTIME, ARCHITECTURES = "python3.13", ["arm64"]
# shared/contract.md: §1 the webhook is HMAC-signed by the ECM sender (and, a deployment
# decision, carries the sender's API key); §2 and §3 carry a Firebase ID token.
CONTRACT_ROUTES = {
    ("POST", "/ecm/events"): "signature",
    ("PUT", "/devices/{installation_id}"): "id_token",
    ("DELETE", "/devices/{installation_id}"): "id_token",
    ("GET", "/me/preferences"): "id_token",
    ("PUT", "/me/preferences"): "id_token",
    ("GET", "/me/notifications"): "id_token",
    ("POST", "/me/notifications/{notification_id}/read"): "id_token",
    ("POST", "/me/notifications/read"): "id_token",
    ("POST", "/me/receipts"): "id_token",
    ("POST", "/responses"): "id_token",
    # The optional OTDS sign-in bridge (docs/sign-in.md): before any ID token exists.
    ("POST", "/sign-in/otds/start"): "none",
    ("POST", "/sign-in/otds/token"): "none",
    # issue 25: the approver's API (docs/clients.md), on the same Firebase ID-token guard.
    ("GET", "/me/tasks"): "id_token",
    ("GET", "/me/tasks/{process_id}/{subprocess_id}/{task_id}"): "id_token",
    ("GET", "/me/documents/{node_id}/metadata"): "id_token",
    ("GET", "/me/documents/{node_id}/content"): "id_token",
}
# An SQS event source's visibility timeout at least 6 x the function timeout; the smallest
# MaximumConcurrency; a batch without a batching window holds at most 10 messages.
VISIBILITY_PER_TIMEOUT, MIN_CONCURRENCY, MAX_BATCH = 6, 2, 10
MAX_RETENTION, DEFAULT_RETENTION = 14 * 24 * 3600, 4 * 24 * 3600
NO_RESOURCE_ACTIONS = {"secretsmanager:GetRandomPassword", "ssm:DescribeParameters"}  # only "*"
LAMBDA_LOG_LEVELS = {"TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"}
ALARM_ACTIONS = {"Fn::If": ["HasAlarmTopic", [{"Ref": "AlarmTopicArn"}], {"Ref": "AWS::NoValue"}]}
# Outputs documented as a kind (docs/deploy.md: "table names, queue URLs, ... the layer ARNs").
OUTPUT_KINDS = {"TableName": "table names", "QueueUrl": "queue URLs", "LayerArn": "layer ARNs"}
FIRST = (0, "GreaterThanThreshold")  # an alarm on the first error or dead letter
ARN = "arn:aws:secretsmanager:eu-central-1:123456789012:secret:v-1a"
HTTP_METHODS = ("get", "put", "post", "delete", "patch")
ENV = "/Globals/Function/Environment/Variables/"  # a path to break a variable at

INVARIANTS: dict[str, Callable[[Template], Problems]] = {}
MUTATIONS: list[tuple[str, str, Mutation]] = []  # (invariant, what is broken, how)


def invariant(**mutations: Mutation) -> Callable[[Callable[[Template], Problems]], Any]:
    def register(check: Callable[[Template], Problems]) -> Callable[[Template], Problems]:
        INVARIANTS[check.__name__] = check
        MUTATIONS.extend((check.__name__, label, mutate) for label, mutate in mutations.items())
        return check

    return register


# -- breaking a copy: paths are under a resource's Properties, or from the root with "/" ---------


def _parent(t: Template, path: str) -> tuple[Any, Any]:
    keys: list[Any] = path.strip("/").split("/")
    node = t if path.startswith("/") else t["Resources"][keys.pop(0)]["Properties"]
    for key in keys[:-1]:
        node = node[int(key)] if isinstance(node, list) else node.setdefault(key, {})
    return node, int(keys[-1]) if isinstance(node, list) else keys[-1]


def _at(path: str, change: Callable[[Any, Any], None]) -> Mutation:
    return lambda t: change(*_parent(t, path))


def drop(path: str) -> Mutation:
    return _at(path, lambda node, key: node.__delitem__(key))


def put(path: str, value: Any) -> Mutation:
    return _at(path, lambda node, key: node.__setitem__(key, copy.deepcopy(value)))


def add(path: str, item: Any) -> Mutation:
    return _at(path, lambda node, key: node.setdefault(key, []).append(copy.deepcopy(item)))


ANYONE = {"Effect": "Allow", "Principal": "*", "Action": "sqs:SendMessage", "Resource": "*"}


def statement(function: str, action: str, resource: Any) -> Mutation:
    policy = {"Statement": [{"Effect": "Allow", "Action": action, "Resource": resource}]}
    return add(f"{function}/Policies", policy)


# -- reading the template ------------------------------------------------------------------------


def of(t: Template, kind: str) -> dict[str, dict[str, Any]]:
    return cfn.resources(t, kind)


def props(t: Template, name: str) -> dict[str, Any]:
    properties: dict[str, Any] = t["Resources"][name].get("Properties", {})
    return properties


def target(value: Any) -> str:
    """The logical id a Ref / GetAtt / one-variable Sub points at; a literal as is."""
    if isinstance(value, str):
        return value
    if "Ref" in value:
        return str(value["Ref"])
    if "Fn::GetAtt" in value:
        return str(value["Fn::GetAtt"][0])
    if "Fn::If" in value:  # a conditional resource's reference, or "" without it
        return target(value["Fn::If"][1])
    (name,) = {v.split(".")[0] for v in re.findall(r"\$\{([\w.]+)\}", json.dumps(value))}
    return str(name)


def listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def events(t: Template, kind: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """(function, event properties) of every event of that type."""
    for name in of(t, "AWS::Serverless::Function"):
        for event in props(t, name).get("Events", {}).values():
            if event["Type"] == kind:
                yield name, event["Properties"]


def alarms(t: Template) -> dict[tuple[str, str], dict[str, Any]]:
    """(metric, what its first dimension names) -> alarm properties."""
    found = (a["Properties"] for a in of(t, "AWS::CloudWatch::Alarm").values())
    return {(p["MetricName"], target(p["Dimensions"][0]["Value"])): p for p in found}


def variables(t: Template) -> dict[str, Any]:
    found: dict[str, Any] = t["Globals"]["Function"]["Environment"]["Variables"]
    return found


def references(node: Any) -> Iterator[str]:
    """Every logical id or parameter a node names (Ref, GetAtt, ${X} and ${X.Attr} in Sub)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("Ref", "Fn::GetAtt"):
                yield str(listed(value)[0])
            elif key == "Fn::Sub":
                text = listed(value)[0]
                yield from (v.split(".")[0] for v in re.findall(r"\$\{([^}!]+)\}", text))
            yield from references(value)
    elif isinstance(node, list):
        for item in node:
            yield from references(item)


def matches(pattern: str, value: str) -> bool:
    return re.fullmatch(pattern, value) is not None


# -- reading the code ----------------------------------------------------------------------------


@functools.cache
def code_strings() -> frozenset[str]:
    """Every string constant in the deployed code (ecmpush and the handlers)."""
    sources = [*(SHARED / "ecmpush").rglob("*.py"), *ROOT.glob("functions/*/app.py")]
    return frozenset(
        node.value
        for path in sources
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    )


def code_reads() -> frozenset[str]:
    """The variables the deployed code can read: Settings' fields, and any other name it
    spells out (Powertools' own, the rotation function's)."""
    return code_strings() | {variable for variable, _ in settings_variables().values()}


@functools.cache
def settings_variables() -> dict[str, tuple[str, bool]]:
    """Settings field -> (environment variable, required): required where it has no default."""
    return {
        name: (settings_variable(name), spec.is_required())
        for name, spec in Settings.model_fields.items()
    }


def _loaded_by_import(tree: ast.AST) -> Iterator[str]:
    """Modules importing this module loads (not the lazy imports inside functions)."""
    if isinstance(tree, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
        return
    if isinstance(tree, ast.If) and layer_check._is_type_checking(tree):
        children: list[ast.AST] = list(tree.orelse)
    else:
        children = list(ast.iter_child_nodes(tree))
    if isinstance(tree, ast.Import):
        yield from (a.name for a in tree.names)
    elif isinstance(tree, ast.ImportFrom) and not tree.level and tree.module:
        yield from [tree.module, *(f"{tree.module}.{a.name}" for a in tree.names)]
    for child in children:
        yield from _loaded_by_import(child)


@functools.cache
def code_reach(code_uri: str) -> tuple[frozenset[str], frozenset[str]]:
    """(modules, Settings fields) a handler's import and first call reach: what its app.py
    loads, the `ecmpush.bootstrap` factories its first call runs (layer_check's reading, which
    also checks the layers at build time) and what those load and read."""
    app = (ROOT / code_uri / "app.py").read_text()
    factories, statements = layer_check.first_call_imports(app, SHARED)
    todo = [*_loaded_by_import(ast.parse(app))]
    todo += [m for s in statements for m in _loaded_by_import(ast.parse(s))]
    modules: set[str] = set()
    while todo:
        if (module := todo.pop()) in modules:
            continue
        modules.add(module)
        if module.startswith("ecmpush") and (path := layer_check._module_file(module, SHARED)):
            todo += _module_loads(path)
    read = set().union(*(_factory_reads()[factory] for factory in factories))
    return frozenset(modules), frozenset(read)


@functools.cache
def _module_loads(path: Path) -> list[str]:
    return list(_loaded_by_import(ast.parse(path.read_text())))


@functools.cache
def _factory_reads() -> dict[str, set[str]]:
    """Each `ecmpush.bootstrap` factory -> the Settings fields it reads."""
    fields = set(Settings.model_fields)
    return {
        node.name: {n.attr for n in ast.walk(node) if isinstance(n, ast.Attribute)} & fields
        for path in (SHARED / "ecmpush" / "bootstrap").glob("*.py")
        for node in ast.parse(path.read_text()).body
        if isinstance(node, ast.FunctionDef)
    }


def reach(t: Template, function: str) -> tuple[frozenset[str], frozenset[str]]:
    return code_reach(str(props(t, function)["CodeUri"]).rstrip("/"))


def app_source(t: Template, function: str) -> Path:
    return ROOT / str(props(t, function)["CodeUri"]) / "app.py"


def reached_resources(t: Template, function: str) -> set[str]:
    """Logical ids (resources, parameters) the function's code can name: through the settings
    its factories read, its SQS event sources, and the secrets it is the rotation function of."""
    environment = cfn.functions(t)[function].environment
    names = [settings_variables()[f][0] for f in reach(t, function)[1] if f in settings_variables()]
    reached = {target(environment[n]) for n in names if n in environment}
    reached |= {target(e["Queue"]) for fn, e in events(t, "SQS") if fn == function}
    schedules = of(t, "AWS::SecretsManager::RotationSchedule").values()
    return reached | {
        target(s["Properties"]["SecretId"])
        for s in schedules
        if target(s["Properties"]["RotationLambdaARN"]) == function
    }


# -- queues and their consumers ------------------------------------------------------------------


def dead_letter_queues(t: Template) -> set[str]:
    """Queues something dead-letters into: a redrive, a schedule, an async invoke's OnFailure."""
    found = {
        target(q["Properties"]["RedrivePolicy"]["deadLetterTargetArn"])
        for q in of(t, "AWS::SQS::Queue").values()
        if "RedrivePolicy" in q["Properties"]
    }
    found |= {target(e["DeadLetterConfig"]["Arn"]) for _, e in events(t, "ScheduleV2")}
    for name in of(t, "AWS::Serverless::Function"):
        failure = props(t, name).get("EventInvokeConfig", {}).get("DestinationConfig", {})
        if failure.get("OnFailure", {}).get("Type") == "SQS":
            found.add(target(failure["OnFailure"]["Destination"]))
    return found


@invariant(
    no_redrive=drop("DispatchQueue/RedrivePolicy"),
    dlq_without_alarm=drop("/Resources/WriteBackDeadLetterQueueAlarm"),
    unencrypted=put("SweepDeadLetterQueue/SqsManagedSseEnabled", False),
    dlq_keeps_less=put("DispatchDeadLetterQueue/MessageRetentionPeriod", DEFAULT_RETENTION),
    age_alarm_after_dead_lettering=put("WriteBackQueueAgeAlarm/Threshold", 3600),
    no_age_alarm=drop("/Resources/DispatchQueueAgeAlarm"),
    average_age=put("DispatchQueueAgeAlarm/Statistic", "Average"),
)
def every_queue_dead_letters_into_an_alarmed_queue(t: Template) -> Problems:
    queues, dlqs, watched = of(t, "AWS::SQS::Queue"), dead_letter_queues(t), alarms(t)
    for name, queue in queues.items():
        p = queue["Properties"]
        if p.get("SqsManagedSseEnabled") is not True:
            yield f"{name}: not encrypted"
        if name in dlqs:
            alarm = watched.get(("ApproximateNumberOfMessagesVisible", name), {})
            if "RedrivePolicy" in p or p.get("MessageRetentionPeriod") != MAX_RETENTION:
                yield f"{name}: a dead-letter queue that redrives or keeps less than 14 days"
            if (alarm.get("Threshold"), alarm.get("ComparisonOperator")) != FIRST:
                yield f"{name}: no alarm on its first message"
            continue
        if not (redrive := p.get("RedrivePolicy")):
            yield f"{name}: no dead-letter queue"
            continue
        dlq = target(redrive["deadLetterTargetArn"])
        # A message keeps its original enqueue time in the DLQ: it must outlive the source.
        retention = p.get("MessageRetentionPeriod", DEFAULT_RETENTION)
        if props(t, dlq).get("MessageRetentionPeriod", DEFAULT_RETENTION) <= retention:
            yield f"{name}: {dlq} drops messages before {name} would"
        # The age alarm tolerates one redelivery and fires before messages are dead-lettered.
        alarm = watched.get(("ApproximateAgeOfOldestMessage", name), {"Statistic": "Maximum"})
        age = alarm.get("Threshold", -1)
        if alarm["Statistic"] != "Maximum":
            yield f"{name}: the age alarm averages the oldest message away"
        visibility = p.get("VisibilityTimeout", 30)
        if not visibility <= age < redrive["maxReceiveCount"] * visibility:
            yield f"{name}: age alarm at {age} s, visibility {visibility} s, {redrive}"


@invariant(
    insecure_transport=lambda t: props(t, "WriteBackQueuesPolicy")["Queues"].pop(),
    another_allow=add("DispatchQueuesPolicy/PolicyDocument/Statement", ANYONE),
    scheduler_refused=drop("SweepDeadLetterQueuePolicy/PolicyDocument/Statement/0"),
    any_account=drop("SweepDeadLetterQueuePolicy/PolicyDocument/Statement/0/Condition"),
)
def queue_policies_refuse_plain_http_and_admit_only_scheduler(t: Template) -> Problems:
    """Every queue denies non-TLS access; the only Allow is Scheduler (this account's) on the
    queues schedules dead-letter into."""
    scheduled = {target(e["DeadLetterConfig"]["Arn"]) for _, e in events(t, "ScheduleV2")}
    deny = ("*", "sqs:*", {"Bool": {"aws:SecureTransport": "false"}})
    scheduler = ({"Service": "scheduler.amazonaws.com"}, ["sqs:SendMessage"],
                 {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}})  # fmt: skip
    denied, admitted = set(), set()
    for name, policy in of(t, "AWS::SQS::QueuePolicy").items():
        queues = {target(q) for q in policy["Properties"]["Queues"]}
        for s in policy["Properties"]["PolicyDocument"]["Statement"]:
            resources = {target(r) for r in listed(s["Resource"])}
            shape = (s.get("Principal"), s.get("Action"), s.get("Condition"))
            if s["Effect"] == "Deny" and shape == deny and resources == queues:
                denied |= queues
            elif s["Effect"] == "Allow" and (shape[0], listed(shape[1]), shape[2]) == scheduler:
                admitted |= resources
                if not resources <= scheduled & queues:
                    yield f"{name}: admits Scheduler to {sorted(resources - scheduled)}"
            elif s["Effect"] == "Allow":
                yield f"{name}: allows {shape} on {sorted(resources)}"
    for queue in sorted(set(of(t, "AWS::SQS::Queue")) - denied):
        yield f"{queue}: plain HTTP not refused"
    for queue in sorted(scheduled - admitted):
        yield f"{queue}: Scheduler may not send its dead letters"


@invariant(
    whole_batch_retried=drop(
        "DispatchFunction/Events/DispatchQueue/Properties/FunctionResponseTypes"
    ),
    visibility_too_short=put("WriteBackFunction/Timeout", 61),
    unbounded=drop("WriteBackFunction/Events/WriteBackQueue/Properties/ScalingConfig"),
    batch_too_large=put("DispatchFunction/Events/DispatchQueue/Properties/BatchSize", 100),
)
def every_queue_consumer_reports_item_failures_and_is_paced(t: Template) -> Problems:
    specs = cfn.functions(t)
    for function, e in events(t, "SQS"):
        if e.get("FunctionResponseTypes") != ["ReportBatchItemFailures"]:
            yield f"{function}: a failed record retries its whole batch"
        if not 1 <= e.get("BatchSize", 10) <= MAX_BATCH:
            yield f"{function}: BatchSize {e.get('BatchSize')}"
        concurrency = e.get("ScalingConfig", {}).get("MaximumConcurrency", "")
        if t["Parameters"].get(target(concurrency), {}).get("MinValue", 0) < MIN_CONCURRENCY:
            yield f"{function}: MaximumConcurrency is not a parameter of at least {MIN_CONCURRENCY}"
        visibility = props(t, target(e["Queue"])).get("VisibilityTimeout", 30)
        if visibility < VISIBILITY_PER_TIMEOUT * specs[function].timeout:
            yield f"{function}: visibility {visibility} s < 6 x {specs[function].timeout} s"


@invariant(
    no_retry_policy=drop("ExpirySweepFunction/Events/ExpirySweep/Properties/RetryPolicy"),
    failed_runs_lost=drop("DevicePruneFunction/EventInvokeConfig"),
    named=put("SlaSweepFunction/Events/SlaSweep/Properties/Name", "sla"),
    no_scheduled_time=put("SlaSweepFunction/Events/SlaSweep/Properties/Input", "{}"),
    truncated_expression=put("/Parameters/SlaSweepSchedule/AllowedPattern", ".*"),
)
def every_schedule_retries_dead_letters_and_is_named_by_the_stack(t: Template) -> Problems:
    for function, e in events(t, "ScheduleV2"):
        if not {"MaximumRetryAttempts", "MaximumEventAgeInSeconds"} <= set(
            e.get("RetryPolicy", {})
        ):
            yield f"{function}: no retry policy"
        dlq = e.get("DeadLetterConfig", {}).get("Arn")
        if target(dlq or "") not in of(t, "AWS::SQS::Queue"):
            yield f"{function}: no dead-letter queue"
        # Scheduler's DLQ sees only failed starts: runs failing inside go to the same queue.
        invoke = props(t, function).get("EventInvokeConfig", {})
        failure = invoke.get("DestinationConfig", {}).get("OnFailure", {})
        if "MaximumRetryAttempts" not in invoke or failure.get("Destination") != dlq:
            yield f"{function}: runs failing inside the function go nowhere"
        # SAM names a schedule after its logical id: two stacks in one account would collide.
        if e.get("OmitName") is not True or "Name" in e:
            yield f"{function}: a fixed schedule name"
        if e.get("FlexibleTimeWindow", {"Mode": "OFF"}) != {"Mode": "OFF"}:
            yield f"{function}: a flexible window"
        if json.loads(e.get("Input", "{}")).get("now") != "<aws.scheduler.scheduled-time>":
            yield f"{function}: the run is not told its scheduled time"
        # Unquoted, the SAM CLI cuts "cron(0 7 * * ? *)" at the first space: refuse the stump.
        for key in ("ScheduleExpression", "ScheduleExpressionTimezone"):
            parameter = t["Parameters"].get(target(e.get(key, "")), {})
            pattern, default = parameter.get("AllowedPattern", ".*"), parameter.get("Default", "")
            if not matches(pattern, default) or any(
                matches(pattern, stump)
                for stump in ("", default.split(" ")[0] if " " in default else "")
            ):
                yield f"{function}: {key} parameter pattern {pattern!r}"


# -- functions -----------------------------------------------------------------------------------


@invariant(
    other_runtime=put("DevicesFunction/Runtime", "python3.12"),
    no_such_handler=put("WriteBackFunction/Handler", "app.handler"),
    layer_for_x86=put("FirebaseLayer/CompatibleArchitectures", ["x86_64"]),
    layer_without_its_build=put("SharedLayer/ContentUri", "layers"),
)
def every_function_runs_the_globals_runtime_with_layers_built_for_it(t: Template) -> Problems:
    glob = t["Globals"]["Function"]
    if (glob["Runtime"], glob["Architectures"]) != (RUNTIME, ARCHITECTURES):
        yield f"Globals: {glob['Runtime']} on {glob['Architectures']}"
    for name, spec in cfn.functions(t).items():
        yield from (f"{name}: overrides Globals {key}" for key in ("Runtime", "Architectures",
                    "Environment") if key in props(t, name))  # fmt: skip
        module, handler = spec.handler.split(".")
        source = spec.code_uri / f"{module}.py"
        body = ast.parse(source.read_text()).body if source.is_file() else []
        if handler not in {n.name for n in body if isinstance(n, ast.FunctionDef)}:
            yield f"{name}: no {spec.handler} in {spec.code_uri.name}"
    common = (SHARED / "layer.mk").read_text()
    for name, layer in of(t, "AWS::Serverless::LayerVersion").items():
        p = layer["Properties"]
        if (p["CompatibleRuntimes"], p["CompatibleArchitectures"]) != ([RUNTIME], ARCHITECTURES):
            yield f"{name}: built for {p['CompatibleRuntimes']} on {p['CompatibleArchitectures']}"
        makefile = ROOT / p["ContentUri"] / "Makefile"
        text = makefile.read_text() if makefile.is_file() else ""
        built = f"build-{name}:" in text and "include $(HERE)/" in text
        if not built or layer["Metadata"] != {
            "BuildMethod": "makefile",
            "BuildArchitecture": "arm64",
        }:
            yield f"{name}: not built by {p['ContentUri']}/Makefile with layer.mk"
    # layer.mk: wheels for Lambda's arm64; .pyc that Lambda's read-only disk never rewrites.
    if "manylinux2014_aarch64" not in common or "--invalidation-mode unchecked-hash" not in common:
        yield "layer.mk: not arm64 wheels with unchecked-hash .pyc"


@invariant(
    firebase_where_unused=add("WriteBackFunction/Layers", {"Ref": "FirebaseLayer"}),
    firebase_missing=drop("DispatchFunction/Layers"),
    shared_missing=put("/Globals/Function/Layers", []),
)
def every_function_gets_the_layers_its_code_imports(t: Template) -> Problems:
    """SharedLayer (ecmpush itself) for all, through Globals; FirebaseLayer exactly for the
    functions whose import or first call loads firebase_admin (layer_check.py fails the build
    without it; this refuses it where it would only cost cold start)."""
    layers = of(t, "AWS::Serverless::LayerVersion")
    shared = [n for n, r in layers.items() if r["Properties"]["ContentUri"] == "layers/shared"]
    if [target(ref) for ref in t["Globals"]["Function"].get("Layers", [])] != shared:
        yield "Globals: the shared layer is not every function's"
    for name in of(t, "AWS::Serverless::Function"):
        own = [target(ref) for ref in props(t, name).get("Layers", [])]
        firebase = any(m.split(".")[0] == "firebase_admin" for m in reach(t, name)[0])
        if own != (["FirebaseLayer"] if firebase else []):
            yield f"{name}: layers {own}, firebase_admin {'' if firebase else 'not '}imported"


def test_the_build_reads_each_functions_layers_as_the_template_says(template: Template) -> None:
    """layer_check.py scans template.yaml without a YAML parser (the build's python3.13 has only
    the stdlib): its reading must equal the real one, Globals' layers first."""
    glob = template["Globals"]["Function"]["Layers"]
    expected = {
        spec.code_uri.name: [target(r) for r in [*glob, *props(template, name).get("Layers", [])]]
        for name, spec in cfn.functions(template).items()
    }
    assert layer_check.function_layers(TEMPLATE.read_text()) == expected


@invariant(
    shared_group=put("DispatchFunction/LoggingConfig/LogGroup", {"Ref": "DevicesLogGroup"}),
    kept_forever=drop("SlaSweepLogGroup/RetentionInDays"),
    api_traced_anyway=put("/Globals/Api/TracingEnabled", True),
    app_level_ignored=put("/Globals/Function/LoggingConfig/ApplicationLogLevel", "INFO"),
    level_lambda_refuses=add("/Parameters/LogLevel/AllowedValues", "VERBOSE"),
)
def every_function_logs_json_to_its_own_retained_group_at_the_chosen_level(t: Template) -> Problems:
    groups = of(t, "AWS::Logs::LogGroup")
    used = [
        target(props(t, n)["LoggingConfig"]["LogGroup"]) for n in of(t, "AWS::Serverless::Function")
    ]
    if sorted(used) != sorted(groups):
        yield f"log groups not one per function: {sorted(used)}"
    for group in (groups[g]["Properties"] for g in set(used) & set(groups)):
        if group.get("RetentionInDays") != {"Ref": "LogRetentionDays"} or not group["LogGroupName"][
            "Fn::Sub"
        ].startswith("/aws/lambda/${AWS::StackName}/"):
            yield f"{group['LogGroupName']}: not retained or not named by the stack"
    # JSON logs set AWS_LAMBDA_LOG_LEVEL, which Powertools ranks above POWERTOOLS_LOG_LEVEL
    # (INFO unless ApplicationLogLevel is set): both follow the LogLevel parameter.
    logging = t["Globals"]["Function"]["LoggingConfig"]
    levels = [logging.get("ApplicationLogLevel"), variables(t).get("POWERTOOLS_LOG_LEVEL")]
    if logging.get("LogFormat") != "JSON" or levels != [{"Ref": "LogLevel"}] * 2:
        yield f"log levels {levels}, not both the LogLevel parameter"
    if not set(t["Parameters"]["LogLevel"]["AllowedValues"]) <= LAMBDA_LOG_LEVELS:
        yield "LogLevel allows a level Lambda refuses"
    # TracingMode "off" turns off Lambda's and API Gateway's tracing alike.
    glob = t["Globals"]
    tracing = (
        glob["Function"]["Tracing"],
        glob["Api"]["TracingEnabled"],
        variables(t)["ECMPUSH_TRACING"],
    )
    if tracing != (
        {"Fn::If": ["TracingOff", "PassThrough", "Active"]},
        {"Fn::If": ["TracingOff", False, True]},
        {"Ref": "TracingMode"},
    ):
        yield f"tracing {tracing} not all by TracingMode"


@invariant(
    api_without_snapstart=drop("DevicesFunction/SnapStart"),
    snapstart_without_api=put("DispatchFunction/SnapStart", {"ApplyOn": {"Ref": "SnapStart"}}),
    no_alias=drop("ResponseCallbackFunction/AutoPublishAlias"),
)
def snapstart_is_on_exactly_the_api_functions_through_an_alias(t: Template) -> Problems:
    api = {name for name, _ in events(t, "Api")}
    for name in of(t, "AWS::Serverless::Function"):
        p = props(t, name)
        if (name in api) != ("SnapStart" in p):
            yield f"{name}: SnapStart {'missing' if name in api else 'without an API'}"
        elif name in api and (
            p["SnapStart"] != {"ApplyOn": {"Ref": "SnapStart"}}
            or "AutoPublishAlias" not in p
            or "prepare_snapshot(" not in app_source(t, name).read_text()
        ):
            yield f"{name}: SnapStart not by parameter, through an alias, with a warmed snapshot"


# -- API -----------------------------------------------------------------------------------------


def resolver_routes(app: Path) -> dict[tuple[str, str], ast.FunctionDef]:
    """(METHOD, /path/{param}) -> handler, from the `@app.<method>("/path/<param>")` lines."""
    return {
        (d.func.attr.upper(), re.sub(r"<(\w+)>", r"{\1}", ast.literal_eval(d.args[0]))): node
        for node in ast.parse(app.read_text()).body
        if isinstance(node, ast.FunctionDef)
        for d in node.decorator_list
        if isinstance(d, ast.Call)
        and isinstance(d.func, ast.Attribute)
        and d.func.attr in HTTP_METHODS
    }


def verifies(handler: ast.FunctionDef, auth: str) -> bool:
    if auth == "signature":
        return "x-ecmpush-signature" in ast.unparse(handler)
    if auth == "none":  # signing in: the OTDS code and the signed state are what it checks
        return "bootstrap.build_sign_in" in ast.unparse(handler)
    return any(isinstance(n, ast.Name) and n.id == "authenticated" for n in ast.walk(handler))


def route(method: str, path: str) -> dict[str, Any]:
    properties = {"RestApiId": {"Ref": "EcmpushApi"}, "Path": path, "Method": method}
    return {"Type": "Api", "Properties": properties}


@invariant(
    webhook_without_key=drop("WebhookIntakeFunction/Events/EcmEvents/Properties/Auth"),
    key_on_the_app=put(
        "ResponseCallbackFunction/Events/PostResponse/Properties/Auth", {"ApiKeyRequired": True}
    ),
    outside_the_contract=put("DevicesFunction/Events/Admin", route("get", "/admin")),
    the_code_has_no_such_route=put(
        "ResponseCallbackFunction/Events/Put", route("put", "/responses")
    ),
)
def every_route_is_the_contracts_with_its_authentication(t: Template) -> Problems:
    (api,) = of(t, "AWS::Serverless::Api")
    seen = set()
    for name in {function for function, _ in events(t, "Api")}:
        routes = {(e["Method"].upper(), e["Path"]): e for f, e in events(t, "Api") if f == name}
        served = resolver_routes(app_source(t, name))
        if set(routes) != set(served):
            yield f"{name}: routes {sorted(routes)}, its resolver serves {sorted(served)}"
        for key, e in routes.items():
            seen.add(key)
            auth, api_key = CONTRACT_ROUTES.get(key), e.get("Auth", {}).get("ApiKeyRequired")
            if e.get("RestApiId") != {"Ref": api} or set(e.get("Auth", {})) - {"ApiKeyRequired"}:
                yield f"{name} {key}: not on {api}, or with an authorizer the contract lacks"
            if auth is None or (api_key is True) != (auth == "signature"):
                yield f"{name} {key}: {auth or 'not in the contract'}, API key {api_key}"
            elif key in served and not verifies(served[key], auth):
                yield f"{name} {key}: the handler does not check the {auth}"
    for key in sorted(set(CONTRACT_ROUTES) - seen):
        yield f"{key}: in the contract, not in the template"


# -- IAM -----------------------------------------------------------------------------------------


def logical_id(t: Template, label: str) -> str:
    """What an ARN's resource part names: `Table/index/x` -> Table, `parameter/<default>` ->
    the parameter whose default that is."""
    base = label.split("/index/")[0]
    named = [n for n, p in t["Parameters"].items() if f"parameter{p.get('Default')}" == label]
    return base if base in t["Resources"] else (named or [label])[0]


@invariant(
    table_the_code_never_names=add(
        "WriteBackFunction/Policies", {"DynamoDBCrudPolicy": {"TableName": {"Ref": "EventsTable"}}}
    ),
    star_action=statement(
        "DevicePruneFunction", "dynamodb:*", {"Fn::GetAtt": ["DevicesTable", "Arn"]}
    ),
    star_resource=statement("WebhookIntakeFunction", "dynamodb:GetItem", "*"),
    needed_grant_missing=put("DevicePruneFunction/Policies", []),
    no_such_index=statement(
        "SlaSweepFunction", "dynamodb:Query", {"Fn::Sub": "${TasksTable.Arn}/index/gone"}
    ),
)
def every_function_may_touch_only_what_its_code_uses(t: Template) -> Problems:
    """No `*` action in a function's own statements, `*` resources only for actions that have
    no resource type, and the tables, queues, secrets and parameters it is granted (tests/iam.py's
    expansion) exactly those its code reaches. That each grant suffices for each call is
    enforced on every integration test (tests/iam.py); the actions are pinned, with the docs, in
    tests/unit/test_template_policies.py."""
    indexes = {
        f"{name}/index/{index['IndexName']}"
        for name, table in of(t, "AWS::DynamoDB::Table").items()
        for index in table["Properties"].get("GlobalSecondaryIndexes", [])
    }
    kinds = ("AWS::DynamoDB::Table", "AWS::SQS::Queue", "AWS::SecretsManager::Secret")
    for function, grants in function_grants(t, static_provisioned(t)).items():
        own = [s for p in props(t, function).get("Policies", []) for s in p.get("Statement", [])]
        if wild := [a for s in own for a in listed(s["Action"]) if "*" in a]:
            yield f"{function}: wildcard actions {wild}"
        reached, touched = reached_resources(t, function), set()
        for label, action in {
            (arn_label(r), a) for g in grants for a in g.actions for r in g.resources
        }:
            if label == "*":
                if action not in NO_RESOURCE_ACTIONS:
                    yield f"{function}: {action} on every resource"
                continue
            touched.add(name := logical_id(t, label))
            if "/index/" in label and not label.endswith("/*") and label not in indexes:
                yield f"{function}: {action} on {label}, no such index"
            if name not in reached:
                yield f"{function}: {action} on {label}, which its code never names"
        for name in sorted(
            r for r in reached - touched if t["Resources"].get(r, {}).get("Type") in kinds
        ):
            yield f"{function}: its code uses {name}, its role may not"


def evaluate(value: Any, parameters: dict[str, str]) -> Any:
    """CloudFormation's value of the few intrinsics the template applies to parameters."""
    if isinstance(value, str):
        return value
    ((fn, arg),) = value.items()
    if fn == "Ref":
        return parameters[arg]
    if fn == "Fn::Sub":
        return re.sub(r"\$\{(\w+)\}", lambda m: parameters[m[1]], arg)
    if fn == "Fn::Split":
        return evaluate(arg[1], parameters).split(arg[0])
    assert fn == "Fn::Select", fn
    return evaluate(arg[1], parameters)[int(arg[0])]


@invariant(
    leading_slash_optional=put("/Parameters/RoutingParameterName/AllowedPattern", "/?[a-z/]+"),
    slash_kept=put(
        "ExpirySweepFunction/Policies/3/SSMParameterReadPolicy/ParameterName",
        {"Ref": "RoutingParameterName"},
    ),
)
def ssm_grants_name_the_parameter_the_functions_read(t: Template) -> Problems:
    """SAM's SSMParameterReadPolicy builds `...:parameter/${ParameterName}`, so it takes the
    name without its leading "/": for every name RoutingParameterName accepts, the policy must
    name that parameter (and a name without the "/", which nothing could strip, is refused)."""
    param = t["Parameters"]["RoutingParameterName"]
    names = (param["Default"], "/ecmpush/dev/routing", "/r", "/a.b/c_d-e", "ecmpush/routing",
             "/ecmpush/", "//x", "/ecm push")  # fmt: skip
    accepted = [n for n in names if matches(param["AllowedPattern"], n)]
    if any(not matches(r"(/[\w.-]+)+", n) for n in accepted):
        yield f"RoutingParameterName accepts {accepted}"
    for function in of(t, "AWS::Serverless::Function"):
        for policy in props(t, function).get("Policies", []):
            expression = policy.get("SSMParameterReadPolicy", {}).get("ParameterName")
            for name in accepted if expression else []:
                try:
                    granted = "/" + evaluate(expression, {"RoutingParameterName": name})
                except IndexError:  # !Select of what !Split did not produce: the deploy fails
                    granted = None
                if granted != name:
                    yield f"{function}: grants {granted}, not {name}"
    if variables(t).get("ECMPUSH_ROUTING_PARAMETER") != {"Ref": "RoutingParameterName"}:
        yield "the functions are not told the parameter's name"


# -- alarms, parameters, outputs -----------------------------------------------------------------


@invariant(
    silent=drop("FcmCredentialsAlarm/AlarmActions"),
    function_unwatched=drop("/Resources/DevicePruneErrorsAlarm"),
    metric_never_emitted=put("TeamGroupRefusedAlarm/MetricName", "TeamGroupRefused"),
    errors_tolerated=put("DispatchErrorsAlarm/Threshold", 5),
)
def every_alarm_notifies_and_watches_something_that_exists(t: Template) -> Problems:
    custom = (variables(t)["POWERTOOLS_METRICS_NAMESPACE"], variables(t)["POWERTOOLS_SERVICE_NAME"])
    watched = alarms(t)
    for (metric, subject), p in watched.items():
        if p.get("AlarmActions") != ALARM_ACTIONS or p.get("OKActions") != ALARM_ACTIONS:
            yield f"{metric} {subject}: notifies no one"
        # Powertools metrics: dimension `service`, emitted by name somewhere in the code.
        if p["Namespace"] == custom[0] and (subject != custom[1] or metric not in code_strings()):
            yield f"{metric}: no code emits it for service {subject}"
        elif p["Namespace"] != custom[0] and subject not in t["Resources"]:
            yield f"{metric}: watches {subject}, not in the template"
        counted = metric in ("Errors", "ApproximateNumberOfMessagesVisible")
        if counted and (p["Threshold"], p["ComparisonOperator"]) != FIRST:
            yield f"{metric} {subject}: tolerates some"
    for function in sorted(
        set(of(t, "AWS::Serverless::Function")) - {s for m, s in watched if m == "Errors"}
    ):
        yield f"{function}: no Errors alarm"
    if t["Parameters"]["AlarmTopicArn"].get("Default") != "":
        yield "AlarmTopicArn: a default topic"


@invariant(
    unused=put("/Parameters/Orphan", {"Type": "String", "Default": ""}),
    default_out_of_range=put("/Parameters/DeviceStaleDays/Default", 10_000),
    default_refused=put("/Parameters/SweepTimezone/Default", "Europe/Berlin x"),
)
def every_parameter_is_used_and_its_default_allowed(t: Template) -> Problems:
    used = set(references({k: v for k, v in t.items() if k != "Parameters"}))
    for name, p in t["Parameters"].items():
        default = p.get("Default", p.get("MinValue", ""))
        if name not in used:
            yield f"{name}: never used"
        if "Default" in p and not matches(p.get("AllowedPattern", ".*"), str(default)):
            yield f"{name}: default {default!r} refused by its own pattern"
        if default not in p.get("AllowedValues", [default]):
            yield f"{name}: default {default!r} not allowed"
        if not p.get("MinValue", default) <= default <= p.get("MaxValue", default):
            yield f"{name}: default {default} out of range"


@functools.cache
def documentation() -> str:
    places = [ROOT / "README.md", *(ROOT / "docs").glob("*.md"), *(ROOT / "devstack").glob("*.py")]
    return "\n".join(p.read_text() for p in [*places, *(ROOT / "tests" / "e2e").glob("*.py")])


@invariant(
    undocumented=put("/Outputs/Orphan", {"Value": {"Ref": "EventsTable"}}),
    table_without_output=drop("/Outputs/DevicesTableName"),
    dangling=put("/Outputs/GoneTableName", {"Value": {"Ref": "GoneTable"}}),
    url_of_no_route=put(
        "/Outputs/ResponsesUrl/Value/Fn::Sub", "https://${EcmpushApi}/${Stage}/reply"
    ),
)
def every_output_is_documented_and_every_table_queue_and_secret_has_one(t: Template) -> Problems:
    paths = {e["Path"] for _, e in events(t, "Api")}
    for name, output in t["Outputs"].items():
        path = re.search(r"/\$\{Stage\}(/.+)", listed(output["Value"].get("Fn::Sub", ""))[0])
        if path and path[1] not in paths:
            yield f"{name}: {path[1]} is no route"
        kind = next((OUTPUT_KINDS[k] for k in OUTPUT_KINDS if name.endswith(k)), name)
        if name not in documentation() and kind not in documentation():
            yield f"{name}: no doc, devstack or e2e test names it"
        for ref in set(references(output["Value"])) - set(t["Resources"]) - set(t["Parameters"]):
            if "::" not in ref:
                yield f"{name}: {ref} is not in the template"
    named = {target(o["Value"]) for o in t["Outputs"].values() if "Ref" in o["Value"]}
    for kind in ("AWS::DynamoDB::Table", "AWS::SQS::Queue", "AWS::SecretsManager::Secret"):
        yield from (f"{name}: no output" for name in sorted(set(of(t, kind)) - named))


# -- environment ---------------------------------------------------------------------------------


@functools.cache
def local_only() -> frozenset[str]:
    """docs/resources.md's "Local only" variables: devstack's, never the template's."""
    parts = [p.split("\n#", 1)[0] for p in SPEC.read_text().split("Local only")[1:]]
    return frozenset(n for part in parts for n in re.findall(r"`([A-Z][A-Z0-9_]+)`", part))


@functools.cache
def powertools_variables() -> frozenset[str]:
    import aws_lambda_powertools

    sources = Path(aws_lambda_powertools.__file__).parent.rglob("*.py")
    return frozenset(
        v for p in sources for v in re.findall(r'"(POWERTOOLS_[A-Z_]+)"', p.read_text())
    )


@invariant(
    nobody_reads_it=put(ENV + "ECMPUSH_NOBODY_READS", "1"),
    powertools_has_no_such=put(ENV + "POWERTOOLS_NO_SUCH", "1"),
    required_missing=drop(ENV + "ECMPUSH_TASKS_TABLE"),
    local_only_deployed=put(ENV + "ECMPUSH_FCM_BASE_URL", "x"),
    secret_value=put(ENV + "ECMPUSH_WEBHOOK_SECRET_ID", "hunter2"),
    dangling_ref=put(ENV + "ECMPUSH_RECORDS_TABLE", {"Ref": "Gone"}),
)
def every_variable_set_is_read_and_every_required_one_set(t: Template) -> Problems:
    required = {v for v, is_required in settings_variables().values() if is_required}
    known = set(t["Resources"]) | set(t["Parameters"])
    for function, spec in cfn.functions(t).items():
        yield from (
            f"{function}: {n} is required, not set"
            for n in sorted(required - set(spec.environment))
        )
        for name, value in spec.environment.items():
            readers = powertools_variables() if name.startswith("POWERTOOLS_") else code_reads()
            if name not in readers or name in local_only():
                yield f"{function}: {name} is set and nothing deployed reads it"
            if set(references(value)) - known - {"AWS::StackId"}:
                yield f"{function}: {name} refers to {value}, not in the template"
            # Secrets by id only (a secret's ARN or an ARN parameter); values are read at run time.
            pattern = t["Parameters"].get(target(value), {}).get("AllowedPattern", "")
            arn_parameter = matches(pattern, ARN) and not matches(pattern, '{"a": "b"}')
            if (
                name.endswith("_SECRET_ID")
                and target(value) not in of(t, "AWS::SecretsManager::Secret")
                and not arn_parameter
            ):
                yield f"{function}: {name} is not a secret's ARN"
    if "resolve:secretsmanager" in json.dumps(t) or "resolve:ssm-secure" in json.dumps(t):
        yield "a dynamic reference puts a secret value into the template"


# -- data ----------------------------------------------------------------------------------------


def keys(schema: list[dict[str, str]]) -> set[str]:
    return {k["AttributeName"] for k in schema}


@invariant(
    index_nobody_queries=add(
        "DeliveriesTable/GlobalSecondaryIndexes",
        {"IndexName": "by_nothing", "KeySchema": [{"AttributeName": "sk", "KeyType": "HASH"}]},
    ),
    data_dropped_with_the_stack=put("/Resources/TasksTable/DeletionPolicy", "Delete"),
    expiry_nobody_writes=put("EventsTable/TimeToLiveSpecification/AttributeName", "unwritten"),
    fixed_name=put("RecordsTable/TableName", "records"),
    stray_attribute=add(
        "EventsTable/AttributeDefinitions", {"AttributeName": "x", "AttributeType": "S"}
    ),
    provisioned=put("IdempotencyTable/BillingMode", "PROVISIONED"),
)
def every_table_is_on_demand_encrypted_recoverable_and_expires_what_the_code_writes(
    t: Template,
) -> Problems:
    idempotency = target(variables(t)["ECMPUSH_IDEMPOTENCY_TABLE"])
    safe = ("PAY_PER_REQUEST", {"SSEEnabled": True}, {"PointInTimeRecoveryEnabled": True})
    for name, table in of(t, "AWS::DynamoDB::Table").items():
        p = table["Properties"]
        if (
            p.get("BillingMode"),
            p.get("SSESpecification"),
            p.get("PointInTimeRecoverySpecification"),
        ) != safe:
            yield f"{name}: not on demand, encrypted and recoverable"
        if "TableName" in p:
            yield f"{name}: a fixed name breaks Retain + redeploy"
        # Powertools' idempotency records expire in `expiration` (its default, kept).
        ttl = p.get("TimeToLiveSpecification", {})
        written = {"expiration"} if name == idempotency else code_strings()
        if not ttl.get("Enabled") or ttl.get("AttributeName") not in written:
            yield f"{name}: TTL on {ttl.get('AttributeName')}, which the code never writes"
        indexes = p.get("GlobalSecondaryIndexes", [])
        declared = {a["AttributeName"]: a["AttributeType"] for a in p["AttributeDefinitions"]}
        if set(declared) != keys(p["KeySchema"]).union(*(keys(i["KeySchema"]) for i in indexes)):
            yield f"{name}: attributes {sorted(declared)} are not its keys"
        for index in (i["IndexName"] for i in indexes if i["IndexName"] not in code_strings()):
            yield f"{name}: index {index} is never queried"
        # Everything but the idempotency records is data, kept when the stack goes.
        keep = "Delete" if name == idempotency else "Retain"
        protected = p.get("DeletionProtectionEnabled") == {"Fn::If": ["IsProd", True, False]}
        if (table.get("DeletionPolicy"), table.get("UpdateReplacePolicy")) != (keep, keep) or (
            keep == "Retain" and not protected
        ):
            yield f"{name}: not {keep}ed with the stack (and protected in prod)"


@invariant(
    generated_never_rotated=drop("/Resources/WebhookSecretRotationSchedule"),
    rotation_anyone_may_start=drop("ActionTokenKeyRotationPermission/SourceArn"),
    weak_key=put("WebhookSecret/GenerateSecretString/PasswordLength", 16),
    real_value_in_git=put(
        "FirebaseServiceAccountSecret/SecretString", '{"private_key": "-----BEGIN"}'
    ),
    rotated_within_a_tokens_life=put("/Parameters/ActionTokenKeyRotationDays/MinValue", 1),
)
def every_secret_is_generated_and_rotated_or_a_placeholder(t: Template) -> Problems:
    schedules = {
        target(s["Properties"]["SecretId"]): s
        for s in of(t, "AWS::SecretsManager::RotationSchedule").values()
    }
    for name, secret in of(t, "AWS::SecretsManager::Secret").items():
        p, schedule = secret["Properties"], schedules.get(name)
        if "GenerateSecretString" in p:
            # HMAC-SHA256 keys of at least its 32-byte output; no punctuation to quote in a sender.
            generated = p["GenerateSecretString"]
            if generated["PasswordLength"] < 32 or generated.get("ExcludePunctuation") is not True:
                yield f"{name}: a weak or awkward key {generated}"
            started_by = schedule and t["Resources"][schedule["DependsOn"]]["Properties"]
            if not schedule or started_by != {
                "FunctionName": schedule["Properties"]["RotationLambdaARN"],
                "Action": "lambda:InvokeFunction",
                "Principal": "secretsmanager.amazonaws.com",
                "SourceAccount": {"Ref": "AWS::AccountId"},
                "SourceArn": {"Ref": name},
            }:
                yield f"{name}: generated, and not rotated by this account's rotation of it"
        elif (
            schedule
            or "placeholder" not in p.get("SecretString", "")
            or re.search(
                r'"(private_key|password|client_secret|client_id|username|auth_mode)"',
                p["SecretString"],
            )
        ):
            yield f"{name}: the operator's secret is not a placeholder left alone"
    # A token signed just before a rotation is verified with AWSPREVIOUS until the next one.
    days = t["Parameters"]["ActionTokenKeyRotationDays"]
    rules = schedules["ActionTokenKeySecret"]["Properties"]["RotationRules"]
    ttl_hours = Settings.model_fields["action_token_ttl_hours"].default
    if days["MinValue"] * 24 < ttl_hours or rules["AutomaticallyAfterDays"] != {
        "Ref": "ActionTokenKeyRotationDays"
    }:
        yield "ActionTokenKeySecret: may rotate twice within an action token's life"


@invariant(
    undocumented_resource=lambda t: t["Resources"].update(
        Undocumented=t["Resources"]["SweepDeadLetterQueue"]
    ),
    undocumented_variable=put(ENV + "ECMPUSH_SALT", "x"),
)
def every_function_table_queue_secret_and_variable_is_in_the_resource_spec(t: Template) -> Problems:
    documented = set(re.findall(r"`([A-Za-z][A-Za-z0-9_]+)`", SPEC.read_text()))
    kinds = (
        "AWS::Serverless::Function",
        "AWS::DynamoDB::Table",
        "AWS::SQS::Queue",
        "AWS::SecretsManager::Secret",
    )
    names = {n for kind in kinds for n in of(t, kind)} | set(variables(t))
    yield from (f"{name}: not in docs/resources.md" for name in sorted(names - documented))


def _spec_rows() -> Iterator[tuple[str, list[str]]]:
    """(logical id, the other cells) of every docs/resources.md table row that names one."""
    for line in SPEC.read_text().splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if line.startswith("| `") and re.fullmatch(r"`[A-Z]\w+`", cells[0]):
            yield cells[0].strip("`"), cells[1:]


def _said(text: str, pattern: str) -> int | None:
    found = re.search(pattern, text)
    return int(found[1]) if found else None


def _documented_values(t: Template, name: str, cells: list[str]) -> Problems:
    """What a row states in numbers or names, against the resource: a function's CodeUri,
    timeout and batch size; a queue's visibility, receives and retention; a table's keys."""
    resource, text = t["Resources"].get(name), " ".join(cells)
    if resource is None:
        return
    p = resource.get("Properties", {})
    claims: list[tuple[str, Any, Any]] = []
    if resource["Type"] == "AWS::Serverless::Function":
        claims.append(("CodeUri", cells[0].strip("`"), p.get("CodeUri")))
        if len(cells) > 2 and re.fullmatch(r"\d+ s", cells[2]):
            claims.append(("Timeout", int(cells[2].split()[0]), p.get("Timeout")))
        sizes = [e["Properties"].get("BatchSize") for e in p.get("Events", {}).values()]
        if (size := _said(text, r"BatchSize (\d+)")) is not None:
            claims.append(("BatchSize", size, next((b for b in sizes if b), None)))
    elif resource["Type"] == "AWS::SQS::Queue":
        redrive = p.get("RedrivePolicy", {})
        retention = p.get("MessageRetentionPeriod", DEFAULT_RETENTION)
        for what, said, actual in (
            ("VisibilityTimeout", _said(text, r"visibility (\d+) s"), p.get("VisibilityTimeout")),
            (
                "maxReceiveCount",
                _said(text, r"after (\d+) receives"),
                redrive.get("maxReceiveCount"),
            ),
            ("retention days", _said(text, r"retention (\d+) days"), retention // 86400),
        ):
            if said is not None:
                claims.append((what, said, actual))
    elif resource["Type"] == "AWS::DynamoDB::Table":
        keys = re.findall(r"(pk|sk) `(\w+)`", cells[0])
        kinds = {"pk": "HASH", "sk": "RANGE"}
        schema = [(kinds[k], n) for k, n in keys]
        claims.append(
            (
                "KeySchema",
                schema,
                [(k["KeyType"], k["AttributeName"]) for k in p.get("KeySchema", [])],
            )
        )
        indexes = {i["IndexName"] for i in p.get("GlobalSecondaryIndexes", [])}
        named = set(re.findall(r"`(\w+)` \(pk", cells[1])) if len(cells) > 1 else set()
        claims.append(("GSIs", named, indexes))
    for what, said, actual in claims:
        if said != actual:
            yield f"{name}: docs/resources.md says {what} {said!r}, the template {actual!r}"


@invariant(
    timeout=put("ResponseCallbackFunction/Timeout", 29),
    batch_size=put("WriteBackFunction/Events/WriteBackQueue/Properties/BatchSize", 1),
    visibility=put("DispatchQueue/VisibilityTimeout", 181),
    receives=put("WriteBackQueue/RedrivePolicy/maxReceiveCount", 3),
    table_key=put("DevicesTable/KeySchema/1/AttributeName", "device_id"),
)
def the_resource_spec_states_the_templates_values(t: Template) -> Problems:
    for name, cells in _spec_rows():
        yield from _documented_values(t, name, cells)


# -- the invariants, on the template and on copies broken on purpose -----------------------------


@pytest.fixture(scope="module")
def template() -> Template:
    loaded: Template = cfn.load(TEMPLATE)
    return loaded


@pytest.mark.parametrize("name", list(INVARIANTS))
def test_invariant_holds(template: Template, name: str) -> None:
    assert list(INVARIANTS[name](template)) == []


@pytest.mark.parametrize(
    ("name", "mutate"), [pytest.param(n, m, id=f"{n}-{label}") for n, label, m in MUTATIONS]
)
def test_invariant_catches(template: Template, name: str, mutate: Mutation) -> None:
    broken = copy.deepcopy(template)
    mutate(broken)
    assert list(INVARIANTS[name](broken)), "the broken template passed"


def test_every_invariant_is_shown_to_catch_a_broken_template() -> None:
    assert {name for name, _, _ in MUTATIONS} == set(INVARIANTS)
