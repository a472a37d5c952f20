"""Structural rules of template.yaml that cfn-lint cannot know: the resource spec in
docs/resources.md, least privilege, and the settings whose defaults silently hurt (SQS
visibility vs. function timeout, Powertools log level vs. Lambda's JSON log controls)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from devstack import template as cfn

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"
SPEC = ROOT / "docs" / "resources.md"
# Every "## Additions for ..." section (replies and sweeps, issue #3; scheduled sweeps, issue #4;
# preferences and token hygiene, issue #5).
ADDITIONS = "Additions for "

# The only IAM statements in template.yaml allowed to use Resource "*", each with the reason.
# (SAM itself also attaches AWS managed policies with "*" that this file never shows:
# AWSLambdaBasicExecutionRole (logs), AWSXrayWriteOnlyAccess (X-Ray has no resource-level
# permissions) and, for the SQS event source, AWSLambdaSQSQueueExecutionRole; and the
# SSMParameterReadPolicy template grants ssm:DescribeParameters, which has no resource type,
# on "*" next to its scoped GetParameter.)
STAR_RESOURCE_ALLOWED = {
    # GetRandomPassword acts on no resource; IAM accepts only "*".
    ("WebhookSecretRotationFunction", "secretsmanager:GetRandomPassword"),
}


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    loaded: dict[str, Any] = cfn.load(TEMPLATE)
    return loaded


@pytest.fixture(scope="module")
def spec() -> str:
    return SPEC.read_text()


def resources_of(template: dict[str, Any], type_: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == type_}


def _first_table(section: str) -> list[list[str]]:
    rows = []
    for line in section.splitlines()[1:]:
        if line.startswith("#"):
            break
        if line.startswith("|") and not re.match(r"^\|[-| ]+\|$", line):
            rows.append([c.strip() for c in line.strip().strip("|").split("|")])
    return rows[1:]  # without the header row


def additions(spec: str) -> list[str]:
    """The bodies of the "## Additions for ..." sections, in order."""
    sections = [s.split("\n## ", 1)[0] for s in spec.split(f"\n## {ADDITIONS}")[1:]]
    assert len(sections) >= 2, "expected at least the replies and the scheduled-sweeps additions"
    return sections


def spec_table(spec: str, heading: str, addition: str | None = None) -> list[list[str]]:
    """Rows (cells stripped) of the first markdown table after `## heading`, followed by the
    rows of the table after `### addition` in every "## Additions ..." section that has one."""
    rows = _first_table(spec.split(f"\n## {heading}", 1)[1])
    if addition is not None:
        for section in additions(spec):
            if f"\n### {addition}" in section:
                rows += _first_table(section.split(f"\n### {addition}", 1)[1])
    return rows


# The resource kinds of docs/resources.md: (heading of the base table, heading in "Additions").
FUNCTIONS = ("Functions", "Functions")
TABLES = ("DynamoDB tables", "Tables")
QUEUES = ("Queues", "Queues")
SECRETS = ("Secrets", "Secrets")
ENVIRONMENT = ("Environment variables", "Environment (Globals)")


def ticked(cell: str) -> list[str]:
    return re.findall(r"`([^`]+)`", cell)


# ---- runtime, layer, logging -------------------------------------------------------------------


def test_every_function_is_arm64_python313_through_globals(template):
    glob = template["Globals"]["Function"]
    assert glob["Runtime"] == "python3.13"
    assert glob["Architectures"] == ["arm64"]
    assert glob["Tracing"] == {"Fn::If": ["TracingOff", "PassThrough", "Active"]}
    assert glob["Environment"]["Variables"]["ECMPUSH_TRACING"] == {"Ref": "TracingMode"}
    assert glob["Layers"] == [{"Ref": "SharedLayer"}]
    functions = resources_of(template, "AWS::Serverless::Function")
    assert len(functions) == 9
    for name, fn in functions.items():
        props = fn["Properties"]
        for key in ("Runtime", "Architectures", "Environment"):
            assert key not in props, f"{name} overrides Globals {key}"


FIREBASE_FUNCTIONS = {"DispatchFunction", "DevicesFunction", "ResponseCallbackFunction"}


def test_only_the_functions_that_send_or_verify_get_the_firebase_layer(template):
    functions = resources_of(template, "AWS::Serverless::Function")
    own = {name: fn["Properties"].get("Layers") for name, fn in functions.items()}
    assert {name for name, layers in own.items() if layers} == FIREBASE_FUNCTIONS
    for name in FIREBASE_FUNCTIONS:
        assert own[name] == [{"Ref": "FirebaseLayer"}]


def test_the_build_reads_each_functions_layers_as_the_template_says(template):
    """layer_check.py scans template.yaml without a YAML parser (the build's python3.13 has only
    the stdlib): its reading must equal the real one, Globals' layers first."""
    import layer_check

    expected = {}
    for fn in resources_of(template, "AWS::Serverless::Function").values():
        props = fn["Properties"]
        layers = [*template["Globals"]["Function"]["Layers"], *props.get("Layers", [])]
        expected[props["CodeUri"].rstrip("/").split("/")[-1]] = [ref["Ref"] for ref in layers]
    assert layer_check.function_layers((ROOT / "template.yaml").read_text()) == expected


@pytest.mark.parametrize(
    ("name", "directory"), [("SharedLayer", "shared"), ("FirebaseLayer", "firebase")]
)
def test_each_layer_is_built_by_its_makefile_for_arm64(template, name, directory):
    layer = template["Resources"][name]
    assert layer["Type"] == "AWS::Serverless::LayerVersion"
    assert layer["Properties"]["ContentUri"] == f"layers/{directory}"
    assert layer["Properties"]["CompatibleRuntimes"] == ["python3.13"]
    assert layer["Properties"]["CompatibleArchitectures"] == ["arm64"]
    assert layer["Metadata"]["BuildMethod"] == "makefile"
    makefile = (ROOT / "layers" / directory / "Makefile").read_text()
    assert f"build-{name}:" in makefile
    common = (ROOT / "layers" / "shared" / "layer.mk").read_text()
    assert "include $(HERE)/" in makefile
    assert "manylinux2014_aarch64" in common
    assert "--invalidation-mode unchecked-hash" in common


def test_json_logs_do_not_override_the_log_level_parameter(template):
    # LogFormat JSON sets AWS_LAMBDA_LOG_LEVEL, which Powertools Logger ranks above
    # POWERTOOLS_LOG_LEVEL; it defaults to INFO unless ApplicationLogLevel is set.
    glob = template["Globals"]["Function"]
    logging = glob["LoggingConfig"]
    assert logging["LogFormat"] == "JSON"
    assert logging["ApplicationLogLevel"] == {"Ref": "LogLevel"}
    assert glob["Environment"]["Variables"]["POWERTOOLS_LOG_LEVEL"] == {"Ref": "LogLevel"}
    lambda_levels = {"TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"}
    assert set(template["Parameters"]["LogLevel"]["AllowedValues"]) <= lambda_levels


def test_functions_match_the_spec(template, spec):
    functions = resources_of(template, "AWS::Serverless::Function")
    rows = spec_table(spec, *FUNCTIONS)
    assert len(rows) == 9
    assert {ticked(r[0])[0] for r in rows} == set(functions)
    for row in rows:
        name, code_uri = ticked(row[0])[0], (ticked(row[1]) or [row[1]])[0]
        props = functions[name]["Properties"]
        assert props["CodeUri"] == code_uri
        assert props.get("Handler", template["Globals"]["Function"]["Handler"]) == (
            "app.lambda_handler"
        )
        # The additions table has a timeout column ("15 s"); the base table states it elsewhere.
        if len(row) > 3:
            timeout = re.fullmatch(r"(\d+) s", row[3])
            assert timeout, (name, row[3])
            assert props["Timeout"] == int(timeout[1]), name


def test_every_function_logs_to_its_own_retained_group(template):
    groups = resources_of(template, "AWS::Logs::LogGroup")
    used = []
    for name, fn in resources_of(template, "AWS::Serverless::Function").items():
        ref = fn["Properties"]["LoggingConfig"]["LogGroup"]
        assert set(ref) == {"Ref"}, name
        group = groups[ref["Ref"]]["Properties"]
        assert group["RetentionInDays"] == {"Ref": "LogRetentionDays"}, name
        assert group["LogGroupName"]["Fn::Sub"].startswith("/aws/lambda/${AWS::StackName}/")
        used.append(ref["Ref"])
    assert sorted(used) == sorted(set(used)) == sorted(groups)


def test_api_routes_match_the_spec(template, spec):
    functions = resources_of(template, "AWS::Serverless::Function")
    for row in spec_table(spec, *FUNCTIONS):
        name = ticked(row[0])[0]
        expected = {tuple(t.split(" ", 1)) for t in ticked(row[2]) if " /" in t}
        events = functions[name]["Properties"].get("Events", {})
        actual = {
            (e["Properties"]["Method"].upper(), e["Properties"]["Path"])
            for e in events.values()
            if e["Type"] == "Api"
        }
        assert actual == expected, name
        for e in events.values():
            if e["Type"] == "Api":
                assert e["Properties"]["RestApiId"] == {"Ref": "EcmpushApi"}
    api = template["Resources"]["EcmpushApi"]
    assert api["Type"] == "AWS::Serverless::Api"
    assert template["Globals"]["Api"]["TracingEnabled"] == {"Fn::If": ["TracingOff", False, True]}
    (settings,) = api["Properties"]["MethodSettings"]
    assert "ThrottlingRateLimit" in settings
    assert "ThrottlingBurstLimit" in settings


# ---- schedules -----------------------------------------------------------------------------------


def _schedule_specs(spec: str) -> dict[str, dict[str, Any]]:
    """What the functions tables say of each ScheduleV2 trigger. A row that says "same time
    zone, retry policy, DLQ and Input" takes those from the row before it."""
    found: dict[str, dict[str, Any]] = {}
    previous: dict[str, Any] = {}
    for row in spec_table(spec, *FUNCTIONS):
        if "`ScheduleV2`" not in row[2]:
            continue
        cell = row[2]
        params = re.findall(r"(time zone )?parameter `(\w+)` \(default `([^`]+)`\)", cell)
        expression = [(name, default) for tz, name, default in params if not tz]
        timezone = [(name, default) for tz, name, default in params if tz]
        retry = re.search(r"`RetryPolicy` \((\w+) (\d+), (\w+) (\d+)\)", cell)
        dlq = re.search(r"`DeadLetterConfig` → `(\w+)`", cell)
        payload = re.search(r"Input `(\{.*?\})`", cell)
        (schedule,) = expression
        this = {
            "expression": schedule,
            "timezone": timezone[0] if timezone else None,
            "retry": {retry[1]: int(retry[2]), retry[3]: int(retry[4])} if retry else None,
            "dlq": dlq[1] if dlq else None,
            "input": json.loads(payload[1]) if payload else None,
        }
        if cell.split("`ScheduleV2`", 1)[1].count("same "):
            this = {k: v if v is not None else previous.get(k) for k, v in this.items()}
        assert None not in this.values(), (row[0], this)
        found[ticked(row[0])[0]] = previous = this
    return found


def _section_memory(spec: str) -> dict[str, int]:
    """MemorySize per scheduled function: what the "Additions" section listing it says
    ("Both: MemorySize 512." / "MemorySize 512.")."""
    found = {}
    for section in additions(spec):
        memory = re.search(r"MemorySize (\d+)\.", section)
        for name in re.findall(r"^\| `(\w+)` \|[^\n]*`ScheduleV2`", section, re.M):
            assert memory, name
            found[name] = int(memory[1])
    return found


def test_sweep_schedules_match_the_spec(template, spec):
    schedules = _schedule_specs(spec)
    assert set(schedules) == {"ExpirySweepFunction", "SlaSweepFunction", "DevicePruneFunction"}
    memory = _section_memory(spec)
    assert set(memory) == set(schedules)
    parameters = template["Parameters"]
    for name, want in schedules.items():
        props = template["Resources"][name]["Properties"]
        assert props["MemorySize"] == memory[name], name
        (event,) = props["Events"].values()
        assert event["Type"] == "ScheduleV2", name
        schedule = event["Properties"]
        expression, default = want["expression"]
        assert schedule["ScheduleExpression"] == {"Ref": expression}, name
        assert parameters[expression]["Default"] == default, name
        timezone, tz_default = want["timezone"]
        assert schedule["ScheduleExpressionTimezone"] == {"Ref": timezone}, name
        assert parameters[timezone]["Default"] == tz_default, name
        assert schedule["RetryPolicy"] == want["retry"], name
        assert schedule["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": [want["dlq"], "Arn"]}}, name
        # A JSON string; Scheduler fills in the context attribute for templated targets.
        assert json.loads(schedule["Input"]) == want["input"], name
        assert want["input"]["now"] == "<aws.scheduler.scheduled-time>"
        # SAM names a schedule after its logical id unless told otherwise: two stacks (dev,
        # prod) in one account would then collide in the default schedule group.
        assert schedule["OmitName"] is True, name
        assert "Name" not in schedule, name
        assert schedule.get("FlexibleTimeWindow", {"Mode": "OFF"}) == {"Mode": "OFF"}, name
    dlqs = {s["dlq"] for s in schedules.values()}
    assert dlqs == {"SweepDeadLetterQueue"}


def test_schedule_expression_parameters_refuse_a_truncated_override(template):
    # Unquoted in --parameter-overrides or samconfig.toml, the SAM CLI cuts
    # "cron(0 7 * * ? *)" at the first space. The parameter must refuse the stump.
    for name in ("ExpirySweepSchedule", "SlaSweepSchedule", "DevicePruneSchedule"):
        param = template["Parameters"][name]
        pattern = param["AllowedPattern"]
        assert re.fullmatch(pattern, param["Default"]), name
        assert re.fullmatch(pattern, "cron(0 7 * * ? *)"), name
        assert re.fullmatch(pattern, "rate(5 minutes)"), name
        for stump in ("cron(0", "rate(15", "", "0 7 * * ? *"):
            assert not re.fullmatch(pattern, stump), (name, stump)
    timezone = template["Parameters"]["SweepTimezone"]["AllowedPattern"]
    for ok in ("UTC", "Europe/Berlin", "America/Argentina/Buenos_Aires", "Etc/GMT+1"):
        assert re.fullmatch(timezone, ok), ok
    assert not re.fullmatch(timezone, "Europe/Berlin Paris")


def test_sweep_parameters_match_the_spec(template, spec):
    section = additions(spec)[1].split("\n### Parameters", 1)[1].split("\n### ", 1)[0]
    names = set(re.findall(r"`([A-Z]\w+)`", section))
    assert len(names) == 8
    assert names <= set(template["Parameters"])
    defaults = re.findall(r"`(\w+)`\s+\(default (?:`([^`]+)`|(empty)|(\d+))", section)
    assert len(defaults) == 5
    for name, ticked_default, empty, number in defaults:
        want = ticked_default or number or ("" if empty else None)
        assert str(template["Parameters"][name]["Default"]) == want, name


def test_token_hygiene_parameters_match_the_spec(template, spec):
    section = additions(spec)[3].split("\n### Parameters", 1)[1].split("\n### ", 1)[0]
    defaults = {
        name: ticked_default or number
        for name, ticked_default, number in re.findall(
            r"`(\w+)`\s+\(default (?:`([^`]+)`|(\d+))", section
        )
    }
    assert defaults == {"DevicePruneSchedule": "cron(30 3 * * ? *)", "DeviceStaleDays": "60"}
    parameters = template["Parameters"]
    for name, want in defaults.items():
        assert str(parameters[name]["Default"]) == want, name
    bounds = re.search(r"(\d+) to (\d+)", section)
    assert bounds
    low, high = bounds.groups()
    stale = parameters["DeviceStaleDays"]
    assert stale["Type"] == "Number"
    assert (stale["MinValue"], stale["MaxValue"]) == (int(low), int(high))
    env = template["Globals"]["Function"]["Environment"]["Variables"]
    assert env["ECMPUSH_DEVICE_STALE_DAYS"] == {"Ref": "DeviceStaleDays"}


# ---- SQS -----------------------------------------------------------------------------------------


def test_dispatch_event_reports_partial_failures_and_is_paced(template):
    fn = template["Resources"]["DispatchFunction"]["Properties"]
    (event,) = fn["Events"].values()
    assert event["Type"] == "SQS"
    props = event["Properties"]
    assert props["Queue"] == {"Fn::GetAtt": ["DispatchQueue", "Arn"]}
    assert props["BatchSize"] == 10
    assert props["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert props["ScalingConfig"]["MaximumConcurrency"] == {"Ref": "DispatchMaxConcurrency"}
    param = template["Parameters"]["DispatchMaxConcurrency"]
    assert (param["MinValue"], param["MaxValue"], param["Default"]) == (2, 1000, 5)


def test_write_back_event_reports_partial_failures_and_protects_content_server(template):
    fn = template["Resources"]["WriteBackFunction"]["Properties"]
    (event,) = fn["Events"].values()
    assert event["Type"] == "SQS"
    props = event["Properties"]
    assert props["Queue"] == {"Fn::GetAtt": ["WriteBackQueue", "Arn"]}
    assert props["BatchSize"] == 5
    assert props["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert props["ScalingConfig"]["MaximumConcurrency"] == {"Ref": "WriteBackMaxConcurrency"}
    param = template["Parameters"]["WriteBackMaxConcurrency"]
    assert (param["MinValue"], param["MaxValue"], param["Default"]) == (2, 1000, 2)
    assert fn["Timeout"] == 60
    assert fn["MemorySize"] == 512


def test_queue_visibility_is_at_least_six_times_the_dispatch_timeout(template):
    timeout = template["Resources"]["DispatchFunction"]["Properties"]["Timeout"]
    visibility = template["Resources"]["DispatchQueue"]["Properties"]["VisibilityTimeout"]
    assert timeout == 30
    assert visibility >= 6 * timeout
    assert visibility == 180


def test_every_sqs_event_queue_outlasts_six_function_timeouts(template):
    glob_timeout = template["Globals"]["Function"]["Timeout"]
    consumers = 0
    for name, fn in resources_of(template, "AWS::Serverless::Function").items():
        for event in fn["Properties"].get("Events", {}).values():
            if event["Type"] != "SQS":
                continue
            consumers += 1
            queue = _target(event["Properties"]["Queue"])
            visibility = template["Resources"][queue]["Properties"]["VisibilityTimeout"]
            timeout = fn["Properties"].get("Timeout", glob_timeout)
            assert visibility >= 6 * timeout, (name, queue)
    assert consumers == 2


def test_queues_match_the_spec(template, spec):
    queues = resources_of(template, "AWS::SQS::Queue")
    rows = spec_table(spec, *QUEUES)
    assert {ticked(r[0])[0] for r in rows} == set(queues)
    for row in rows:
        name, notes = ticked(row[0])[0], row[1]
        props = queues[name]["Properties"]
        assert props["SqsManagedSseEnabled"] is True, name
        visibility = re.search(r"visibility (\d+) s", notes)
        if visibility:
            assert props["VisibilityTimeout"] == int(visibility[1]), name
        receives = re.search(r"after (\d+) receives", notes)
        if receives:
            dlq = props["RedrivePolicy"]["deadLetterTargetArn"]
            assert dlq["Fn::GetAtt"][1] == "Arn", name
            # A message keeps its original enqueue time in the DLQ: it must outlive the source.
            dlq_retention = queues[dlq["Fn::GetAtt"][0]]["Properties"]["MessageRetentionPeriod"]
            assert dlq_retention > props["MessageRetentionPeriod"], name
            assert props["RedrivePolicy"]["maxReceiveCount"] == int(receives[1]), name
        else:
            assert "RedrivePolicy" not in props, name
        retention = re.search(r"retention (\d+) days", notes)
        if retention:
            assert props["MessageRetentionPeriod"] == int(retention[1]) * 24 * 3600, name


def test_every_queue_refuses_insecure_transport(template):
    queues = resources_of(template, "AWS::SQS::Queue")
    covered: set[str] = set()
    for policy in resources_of(template, "AWS::SQS::QueuePolicy").values():
        props = policy["Properties"]
        statements = props["PolicyDocument"]["Statement"]
        (statement,) = [s for s in statements if s["Effect"] == "Deny"]
        assert statement["Effect"] == "Deny"
        assert statement["Principal"] == "*"
        assert statement["Action"] == "sqs:*"
        assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        named = {_target(q) for q in props["Queues"]}
        assert {_target(r) for r in statement["Resource"]} == named
        covered |= named
    assert covered == set(queues)


def test_only_the_sweep_dlq_admits_a_service_and_only_scheduler_of_this_account(template, spec):
    (row,) = [r for r in spec_table(spec, *QUEUES) if "`scheduler.amazonaws.com`" in r[1]]
    queue = ticked(row[0])[0]
    assert "`aws:SourceAccount`" in row[1]
    allows = [
        (_target(q), s)
        for policy in resources_of(template, "AWS::SQS::QueuePolicy").values()
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
        for q in policy["Properties"]["Queues"]
        if s["Effect"] == "Allow"
    ]
    assert [q for q, _ in allows] == [queue]
    ((_, allow),) = allows
    assert allow["Principal"] == {"Service": "scheduler.amazonaws.com"}
    assert allow["Action"] in ("sqs:SendMessage", ["sqs:SendMessage"])
    assert allow["Resource"] == {"Fn::GetAtt": [queue, "Arn"]}
    assert allow["Condition"] == {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}
    assert template["Resources"][queue]["Properties"]["MessageRetentionPeriod"] == 14 * 24 * 3600


def test_write_back_queue_redrives_to_an_encrypted_dlq(template):
    queue = template["Resources"]["WriteBackQueue"]["Properties"]
    dlq = template["Resources"]["WriteBackDeadLetterQueue"]["Properties"]
    assert queue["RedrivePolicy"] == {
        "deadLetterTargetArn": {"Fn::GetAtt": ["WriteBackDeadLetterQueue", "Arn"]},
        "maxReceiveCount": 10,
    }
    assert queue["VisibilityTimeout"] == 360
    assert dlq["MessageRetentionPeriod"] == 14 * 24 * 3600
    assert dlq["MessageRetentionPeriod"] > queue["MessageRetentionPeriod"]
    assert queue["SqsManagedSseEnabled"] is True
    assert dlq["SqsManagedSseEnabled"] is True


def test_dispatch_queue_redrives_to_an_encrypted_dlq(template):
    queue = template["Resources"]["DispatchQueue"]["Properties"]
    dlq = template["Resources"]["DispatchDeadLetterQueue"]["Properties"]
    assert queue["RedrivePolicy"] == {
        "deadLetterTargetArn": {"Fn::GetAtt": ["DispatchDeadLetterQueue", "Arn"]},
        "maxReceiveCount": 5,
    }
    assert dlq["MessageRetentionPeriod"] == 14 * 24 * 3600
    assert dlq["MessageRetentionPeriod"] > queue["MessageRetentionPeriod"]
    assert queue["SqsManagedSseEnabled"] is True
    assert dlq["SqsManagedSseEnabled"] is True


# ---- DynamoDB ------------------------------------------------------------------------------------


def _key(schema: list[dict[str, str]]) -> dict[str, str]:
    return {k["KeyType"]: k["AttributeName"] for k in schema}


def test_tables_match_the_spec(template, spec):
    tables = resources_of(template, "AWS::DynamoDB::Table")
    rows = spec_table(spec, *TABLES)
    assert len(rows) == 6
    assert {ticked(r[0])[0] for r in rows} == set(tables)
    for row in rows:
        name = ticked(row[0])[0]
        props = tables[name]["Properties"]
        keys = dict(re.findall(r"(pk|sk) `(\w+)`", row[1]))
        expected = {"HASH": keys["pk"]} | ({"RANGE": keys["sk"]} if "sk" in keys else {})
        assert _key(props["KeySchema"]) == expected, name
        gsis = {g["IndexName"]: g for g in props.get("GlobalSecondaryIndexes", [])}
        spec_gsis = re.findall(r"`(\w+)` \(([^)]*)\)", row[2])
        assert set(gsis) == {index for index, _ in spec_gsis}, name
        for index, gsi_keys in spec_gsis:
            spec_keys = dict(re.findall(r"(pk|sk) `(\w+)`", gsi_keys))
            want = {"HASH": spec_keys["pk"]} | (
                {"RANGE": spec_keys["sk"]} if "sk" in spec_keys else {}
            )
            assert _key(gsis[index]["KeySchema"]) == want, (name, index)
            # ALL unless the spec says KEYS_ONLY (an index read only for its keys).
            projection = "KEYS_ONLY" if "KEYS_ONLY" in gsi_keys else "ALL"
            assert gsis[index]["Projection"] == {"ProjectionType": projection}, (name, index)
        declared = {a["AttributeName"]: a["AttributeType"] for a in props["AttributeDefinitions"]}
        used = set(_key(props["KeySchema"]).values()) | {
            a for g in gsis.values() for a in _key(g["KeySchema"]).values()
        }
        assert set(declared) == used, name
        # Every key in the spec is a string (ids, `<a>/<b>/<c>` keys, RFC 3339 times).
        assert set(declared.values()) == {"S"}, name


def test_tables_are_on_demand_encrypted_recoverable_and_expire(template, spec):
    # "TTL attribute `expires_at` unless noted": a row's notes may name another one.
    default_ttl = re.search(r"TTL attribute `(\w+)` unless noted", spec)
    assert default_ttl
    ttl = {
        ticked(row[0])[0]: (re.search(r"TTL(?: attribute)? `(\w+)`", row[3]) or default_ttl)[1]
        for row in spec_table(spec, *TABLES)
    }
    assert ttl["IdempotencyTable"] == "expiration"
    assert ttl["RecordsTable"] == "expires_at_ttl"
    for name, table in resources_of(template, "AWS::DynamoDB::Table").items():
        props = table["Properties"]
        assert props["BillingMode"] == "PAY_PER_REQUEST", name
        assert props["SSESpecification"]["SSEEnabled"] is True, name
        assert props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
        assert props["TimeToLiveSpecification"] == {
            "AttributeName": ttl[name],
            "Enabled": True,
        }, name
        assert "TableName" not in props, f"{name}: fixed names break Retain + redeploy"


def test_data_tables_survive_stack_deletion_and_replacement(template):
    for name in ("EventsTable", "DevicesTable", "DeliveriesTable", "TasksTable", "RecordsTable"):
        table = template["Resources"][name]
        assert table["DeletionPolicy"] == "Retain", name
        assert table["UpdateReplacePolicy"] == "Retain", name
        assert table["Properties"]["DeletionProtectionEnabled"] == {
            "Fn::If": ["IsProd", True, False]
        }, name


def test_tasks_table_has_only_the_sla_index(template, spec):
    # "`TasksTable`'s index is `sla_due` (above): the sweep reads ..."
    named = re.search(r"`(\w+)`'s index is `(\w+)` \(above\)", spec)
    assert named
    table, index = named.groups()
    props = template["Resources"][table]["Properties"]
    (gsi,) = props["GlobalSecondaryIndexes"]
    assert gsi["IndexName"] == index
    assert _key(gsi["KeySchema"]) == {"HASH": "sla_bucket", "RANGE": "sla_next_at"}
    assert {a["AttributeName"] for a in props["AttributeDefinitions"]} == {
        "task_key",
        "sla_bucket",
        "sla_next_at",
    }


# ---- secrets -------------------------------------------------------------------------------------


def test_secrets_match_the_spec(template, spec):
    secrets = resources_of(template, "AWS::SecretsManager::Secret")
    rows = spec_table(spec, *SECRETS)
    assert len(rows) == 4
    assert {ticked(r[0])[0] for r in rows} == set(secrets)
    webhook = secrets["WebhookSecret"]["Properties"]["GenerateSecretString"]
    assert webhook["ExcludePunctuation"] is True
    action = secrets["ActionTokenKeySecret"]["Properties"]["GenerateSecretString"]
    assert action["PasswordLength"] == 64
    firebase = secrets["FirebaseServiceAccountSecret"]["Properties"]
    assert "placeholder" in firebase["SecretString"]
    assert "private_key" not in firebase["SecretString"]
    # Operator-set secrets: a placeholder, never a generated or real value.
    ecm = secrets["EcmCredentialsSecret"]["Properties"]
    assert "GenerateSecretString" not in ecm
    assert "placeholder" in ecm["SecretString"]
    for real_key in ("password", "client_secret", "client_id", "username", "auth_mode"):
        assert f'"{real_key}"' not in ecm["SecretString"], real_key


ROTATED_SECRETS = {
    "WebhookSecret": "WebhookSecretRotationDays",
    "ActionTokenKeySecret": "ActionTokenKeyRotationDays",
}


def test_generated_secrets_rotate_through_the_rotation_function(template):
    schedules = resources_of(template, "AWS::SecretsManager::RotationSchedule").values()
    by_secret = {_target(s["Properties"]["SecretId"]): s for s in schedules}
    assert set(by_secret) == set(ROTATED_SECRETS)
    for secret, days in ROTATED_SECRETS.items():
        schedule = by_secret[secret]
        props = schedule["Properties"]
        assert props["RotationLambdaARN"] == {
            "Fn::GetAtt": ["WebhookSecretRotationFunction", "Arn"]
        }
        assert props["RotationRules"]["AutomaticallyAfterDays"] == {"Ref": days}
        permission = template["Resources"][schedule["DependsOn"]]
        assert permission["Type"] == "AWS::Lambda::Permission"
        assert permission["Properties"]["Principal"] == "secretsmanager.amazonaws.com"
        assert permission["Properties"]["FunctionName"] == props["RotationLambdaARN"]
        assert permission["Properties"]["SourceAccount"] == {"Ref": "AWS::AccountId"}
        assert permission["Properties"]["SourceArn"] == {"Ref": secret}


def test_action_token_key_outlives_the_tokens_it_signs(template):
    """A token signed just before a rotation is verified with AWSPREVIOUS until the next one:
    the interval may never be shorter than the token's life (ECMPUSH_ACTION_TOKEN_TTL_HOURS)."""
    from ecmpush.settings import Settings

    days = template["Parameters"]["ActionTokenKeyRotationDays"]
    ttl_hours = Settings.__dataclass_fields__["action_token_ttl_hours"].default
    assert days["MinValue"] * 24 >= ttl_hours
    assert days["Default"] >= days["MinValue"]


def test_secret_values_are_never_in_the_template_environment(template):
    text = TEMPLATE.read_text()
    assert "resolve:secretsmanager" not in text
    assert "resolve:ssm-secure" not in text
    env = template["Globals"]["Function"]["Environment"]["Variables"]
    secrets = resources_of(template, "AWS::SecretsManager::Secret")
    secret_vars = {k: v for k, v in env.items() if "SECRET" in k and k != "POWERTOOLS_SERVICE_NAME"}
    assert set(secret_vars) == {
        "ECMPUSH_WEBHOOK_SECRET_ID",
        "ECMPUSH_FIREBASE_SECRET_ID",
        "ECMPUSH_ACTION_TOKEN_SECRET_ID",
        "ECMPUSH_ECM_SECRET_ID",
        "ECMPUSH_FIREBASE_AUTH_SECRET_ID",
        "ECMPUSH_SECRETS_MAX_AGE",
    }
    # The operator's own secret (revocation checks): an ARN parameter, never a value.
    operator_secrets = {"FirebaseAuthSecretArn"}
    for name, value in secret_vars.items():
        if name.endswith("_SECRET_ID"):
            ref = value.get("Ref")
            assert ref in secrets or ref in operator_secrets, name  # an ARN, not a value
    pattern = template["Parameters"]["FirebaseAuthSecretArn"]["AllowedPattern"]
    assert re.fullmatch(pattern, "")
    assert re.fullmatch(pattern, "arn:aws:secretsmanager:eu-central-1:123456789012:secret:v-1a")
    assert not re.fullmatch(pattern, '{"private_key": "..."}')


# ---- environment ---------------------------------------------------------------------------------


def _check_env_value(name: str, actual: Any, cell: str, parameters: dict[str, Any]) -> None:
    """`cell` is the spec's "value in template": `!Ref X`, parameter `X`, "parameter, default
    `d`" (some parameter whose Default is d) or a literal."""
    default = re.match(r"parameter, default `?([^`]+)`?$", cell)
    if default:
        assert "Ref" in actual, name
        assert str(parameters[actual["Ref"]].get("Default")) == default[1], name
        return
    if cell.endswith(", default empty"):  # parameter `X`, default empty
        assert parameters[ticked(cell)[0]].get("Default") == "", name
    (literal,) = ticked(cell) or [cell]
    if literal.startswith("!Ref "):
        assert actual == {"Ref": literal.removeprefix("!Ref ")}, name
    elif cell.startswith("parameter"):
        assert actual == {"Ref": literal}, name
    else:
        assert actual == literal, name


def test_every_env_var_of_the_spec_is_set_as_specified(template, spec):
    env = template["Globals"]["Function"]["Environment"]["Variables"]
    rows = spec_table(spec, *ENVIRONMENT)
    assert len(rows) >= 27
    for row in rows:
        name = ticked(row[0])[0]
        assert name in env, name
        _check_env_value(name, env[name], row[1], template["Parameters"])
    extra = set(env) - {ticked(r[0])[0] for r in rows}
    assert not extra, f"not in docs/resources.md: {extra}"


def test_local_only_variables_stay_out_of_the_template(spec):
    names = [
        name
        for local_only in spec.split("Local only")[1:]
        for name in re.findall(r"`([A-Z][A-Z0-9_]+)`", local_only.split("\n#", 1)[0])
    ]
    assert "ECMPUSH_FCM_BASE_URL" in names
    assert "ECMPUSH_ROUTING_FILE" in names
    text = TEMPLATE.read_text()
    for name in names:
        assert name not in text, name


# ---- IAM -----------------------------------------------------------------------------------------


def _target(value: Any) -> str:
    """Logical id a policy-template argument points at: Ref or GetAtt, or the one parameter an
    expression such as !Select [1, !Split ["^/", !Sub "^${X}"]] is built from; a literal as is."""
    if isinstance(value, str):
        return value
    if "Ref" in value:
        return str(value["Ref"])
    if "Fn::GetAtt" in value:
        return str(value["Fn::GetAtt"][0])
    (name,) = set(re.findall(r"\$\{(\w+)\}", json.dumps(value)))
    return str(name)


def _evaluate(value: Any, parameters: dict[str, str]) -> Any:
    """CloudFormation's value of the few intrinsics the template applies to parameters."""
    if isinstance(value, str | int):
        return value
    if isinstance(value, list):
        return [_evaluate(v, parameters) for v in value]
    ((fn, arg),) = value.items()
    if fn == "Ref":
        return parameters[arg]
    if fn == "Fn::Sub":
        return re.sub(r"\$\{(\w+)\}", lambda m: parameters[m[1]], arg)
    if fn == "Fn::Split":
        delimiter, source = arg
        return _evaluate(source, parameters).split(delimiter)
    if fn == "Fn::Select":
        index, items = arg
        return _evaluate(items, parameters)[int(index)]
    raise AssertionError(f"cannot evaluate {fn}")


def _statements(template: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    found = []
    for name, res in template["Resources"].items():
        props = res.get("Properties", {})
        if res["Type"] == "AWS::Serverless::Function":
            for policy in props.get("Policies", []):
                if isinstance(policy, dict) and "Statement" in policy:
                    found += [(name, s) for s in policy["Statement"]]
        elif res["Type"] in ("AWS::IAM::Role", "AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            docs = [p["PolicyDocument"] for p in props.get("Policies", [])]
            docs += [props["PolicyDocument"]] if "PolicyDocument" in props else []
            found += [(name, s) for d in docs for s in d["Statement"]]
    return found


# Which function may do what: tests/unit/test_template_policies.py.


def test_ssm_reads_are_scoped_to_the_routing_parameter(template):
    # SAM's SSMParameterReadPolicy builds
    # arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter/${parameterName}
    # (samtranslator policy_templates.json), so it takes the name WITHOUT its leading "/".
    param = template["Parameters"]["RoutingParameterName"]
    assert param["Default"] == "/ecmpush/routing"
    names = [param["Default"], "/ecmpush/dev/routing", "/r", "/a.b/c_d-e"]
    for name in names:
        assert re.fullmatch(param["AllowedPattern"], name), name
    # Without the leading "/" there is nothing to strip: refused, so the policy never breaks.
    for name in ("ecmpush/routing", "routing", "/ecmpush/", "//ecmpush", "/ecm push"):
        assert not re.fullmatch(param["AllowedPattern"], name), name
    grants = 0
    for fn_name, fn in resources_of(template, "AWS::Serverless::Function").items():
        for policy in fn["Properties"].get("Policies", []):
            if "SSMParameterReadPolicy" not in policy:
                continue
            grants += 1
            expression = policy["SSMParameterReadPolicy"]["ParameterName"]
            for name in names:
                stripped = _evaluate(expression, {"RoutingParameterName": name})
                arn = f"arn:aws:ssm:eu-central-1:123456789012:parameter/{stripped}"
                assert arn == f"arn:aws:ssm:eu-central-1:123456789012:parameter{name}", fn_name
    assert grants == 2
    env = template["Globals"]["Function"]["Environment"]["Variables"]
    assert env["ECMPUSH_ROUTING_PARAMETER"] == {"Ref": "RoutingParameterName"}


def test_no_iam_statement_grants_star_resources(template):
    for owner, statement in _statements(template):
        resources = statement["Resource"]
        resources = resources if isinstance(resources, list) else [resources]
        if "*" not in resources:
            continue
        actions = statement["Action"]
        actions = actions if isinstance(actions, list) else [actions]
        for action in actions:
            assert (owner, action) in STAR_RESOURCE_ALLOWED, (owner, action)


def test_rotation_function_may_only_touch_the_secrets_it_rotates(template):
    statements = {
        s["Sid"]: s for o, s in _statements(template) if o == "WebhookSecretRotationFunction"
    }
    rotate = statements["RotateGeneratedSecrets"]
    assert rotate["Resource"] == [{"Ref": "WebhookSecret"}, {"Ref": "ActionTokenKeySecret"}]
    assert set(rotate["Action"]) == {
        "secretsmanager:DescribeSecret",
        "secretsmanager:GetSecretValue",
        "secretsmanager:PutSecretValue",
        "secretsmanager:UpdateSecretVersionStage",
    }


# ---- alarms and outputs --------------------------------------------------------------------------


def test_alarms_cover_the_dlq_and_every_function(template, spec):
    alarms = resources_of(template, "AWS::CloudWatch::Alarm").values()
    dimensions = {
        (a["Properties"]["MetricName"], _target(a["Properties"]["Dimensions"][0]["Value"]))
        for a in alarms
    }
    queues = resources_of(template, "AWS::SQS::Queue")
    sources = [q for q, r in queues.items() if "RedrivePolicy" in r["Properties"]]
    assert sorted(sources) == ["DispatchQueue", "WriteBackQueue"]
    for source in sources:
        dlq = _target(queues[source]["Properties"]["RedrivePolicy"]["deadLetterTargetArn"])
        assert ("ApproximateNumberOfMessagesVisible", dlq) in dimensions, dlq
        assert ("ApproximateAgeOfOldestMessage", source) in dimensions, source
    # Scheduler dead-letter queues have no source queue: found through the schedules.
    scheduler_dlqs = {
        _target(e["Properties"]["DeadLetterConfig"]["Arn"])
        for fn in resources_of(template, "AWS::Serverless::Function").values()
        for e in fn["Properties"].get("Events", {}).values()
        if e["Type"] == "ScheduleV2"
    }
    assert scheduler_dlqs == {"SweepDeadLetterQueue"}
    for dlq in scheduler_dlqs:
        assert ("ApproximateNumberOfMessagesVisible", dlq) in dimensions, dlq
    for fn in resources_of(template, "AWS::Serverless::Function"):
        assert ("Errors", fn) in dimensions, fn
    # The FCM answers that must reach a person (functions/dispatch/app.py emits them).
    for metric in ("FcmCredentialsSuspect", "FcmPlatformAuthErrors", "TeamGroupsRefused"):
        assert (metric, "ecmpush") in dimensions, metric
    for alarm in alarms:
        props = alarm["Properties"]
        if props["MetricName"] in ("Errors", "ApproximateNumberOfMessagesVisible"):
            assert props["Threshold"] == 0
            assert props["ComparisonOperator"] == "GreaterThanThreshold"
        assert props["AlarmActions"] == {
            "Fn::If": ["HasAlarmTopic", [{"Ref": "AlarmTopicArn"}], {"Ref": "AWS::NoValue"}]
        }
    assert template["Parameters"]["AlarmTopicArn"]["Default"] == ""
    for row in spec_table(spec, *QUEUES):
        if "alarm when depth > 0" in row[1]:
            queue = ticked(row[0])[0]
            assert ("ApproximateNumberOfMessagesVisible", queue) in dimensions, queue


def test_write_back_queue_age_alarm_fires_after_15_minutes(template):
    (alarm,) = [
        a["Properties"]
        for a in resources_of(template, "AWS::CloudWatch::Alarm").values()
        if a["Properties"]["MetricName"] == "ApproximateAgeOfOldestMessage"
        and _target(a["Properties"]["Dimensions"][0]["Value"]) == "WriteBackQueue"
    ]
    assert alarm["Dimensions"] == [
        {"Name": "QueueName", "Value": {"Fn::GetAtt": ["WriteBackQueue", "QueueName"]}}
    ]
    assert alarm["Statistic"] == "Maximum"
    assert alarm["Threshold"] == 15 * 60
    assert alarm["ComparisonOperator"] == "GreaterThanThreshold"


def test_outputs_name_the_webhook_url_tables_queues_and_secrets(template):
    outputs = template["Outputs"]
    assert outputs["EcmEventsUrl"]["Value"]["Fn::Sub"].endswith("/${Stage}/ecm/events")
    assert outputs["ResponsesUrl"]["Value"]["Fn::Sub"].endswith("/${Stage}/responses")
    api_paths = {
        e["Properties"]["Path"]
        for fn in resources_of(template, "AWS::Serverless::Function").values()
        for e in fn["Properties"].get("Events", {}).values()
        if e["Type"] == "Api"
    }
    assert {"/ecm/events", "/responses"} <= api_paths
    referenced = {_target(o["Value"]) for o in outputs.values() if "Ref" in o["Value"]}
    for type_ in ("AWS::DynamoDB::Table", "AWS::SQS::Queue", "AWS::SecretsManager::Secret"):
        assert set(resources_of(template, type_)) <= referenced, type_


def test_scheduled_functions_send_failed_runs_to_the_sweep_dlq(template):
    """Scheduler's own DLQ only sees invocations it could not start; runs that fail inside the
    function must land somewhere too."""
    scheduled = [
        (name, fn)
        for name, fn in resources_of(template, "AWS::Serverless::Function").items()
        if any(e.get("Type") == "ScheduleV2" for e in fn["Properties"].get("Events", {}).values())
    ]
    assert len(scheduled) == 3
    for name, fn in scheduled:
        config = fn["Properties"]["EventInvokeConfig"]
        assert config["MaximumRetryAttempts"] == 2, name
        on_failure = config["DestinationConfig"]["OnFailure"]
        assert on_failure == {
            "Type": "SQS",
            "Destination": {"Fn::GetAtt": ["SweepDeadLetterQueue", "Arn"]},
        }, name


def test_snapstart_is_on_the_api_functions_only_through_a_published_alias(template):
    functions = resources_of(template, "AWS::Serverless::Function")
    snap = {n for n, fn in functions.items() if "SnapStart" in fn["Properties"]}
    assert snap == {"WebhookIntakeFunction", "DevicesFunction", "ResponseCallbackFunction"}
    for name in snap:
        props = functions[name]["Properties"]
        assert props["SnapStart"] == {"ApplyOn": {"Ref": "SnapStart"}}
        assert props["AutoPublishAlias"] == "live"
        app = (ROOT / props["CodeUri"] / "app.py").read_text()
        assert "prepare_snapshot(" in app, name
