"""Structural rules of template.yaml that cfn-lint cannot know: the resource spec in
docs/resources.md, least privilege, and the settings whose defaults silently hurt (SQS
visibility vs. function timeout, Powertools log level vs. Lambda's JSON log controls)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from devstack import template as cfn

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"
SPEC = ROOT / "docs" / "resources.md"
ADDITIONS = "Additions for replies (issue #3) and sweeps (issue #4)"

# The only IAM statements in template.yaml allowed to use Resource "*", each with the reason.
# (SAM itself also attaches AWS managed policies with "*" that this file never shows:
# AWSLambdaBasicExecutionRole (logs), AWSXrayWriteOnlyAccess (X-Ray has no resource-level
# permissions) and, for the SQS event source, AWSLambdaSQSQueueExecutionRole.)
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


def spec_table(spec: str, heading: str, addition: str | None = None) -> list[list[str]]:
    """Rows (cells stripped) of the first markdown table after `## heading`, followed by the
    rows of the table after `### addition` in the section "## Additions ..." when given."""
    rows = _first_table(spec.split(f"\n## {heading}", 1)[1])
    if addition is not None:
        additions = spec.split(f"\n## {ADDITIONS}", 1)[1]
        rows += _first_table(additions.split(f"\n### {addition}", 1)[1])
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
    assert glob["Tracing"] == "Active"
    assert {"Ref": "SharedLayer"} in glob["Layers"]
    functions = resources_of(template, "AWS::Serverless::Function")
    assert len(functions) == 6
    for name, fn in functions.items():
        props = fn["Properties"]
        for key in ("Runtime", "Architectures", "Layers", "Environment"):
            assert key not in props, f"{name} overrides Globals {key}"


def test_shared_layer_is_built_by_its_makefile_for_arm64(template):
    layer = template["Resources"]["SharedLayer"]
    assert layer["Type"] == "AWS::Serverless::LayerVersion"
    assert layer["Properties"]["ContentUri"] == "layers/shared"
    assert layer["Properties"]["CompatibleRuntimes"] == ["python3.13"]
    assert layer["Properties"]["CompatibleArchitectures"] == ["arm64"]
    assert layer["Metadata"]["BuildMethod"] == "makefile"
    makefile = (ROOT / "layers" / "shared" / "Makefile").read_text()
    assert "build-SharedLayer:" in makefile
    assert "manylinux2014_aarch64" in makefile
    assert "--invalidation-mode unchecked-hash" in makefile


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
    assert len(rows) == 6
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
    assert template["Globals"]["Api"]["TracingEnabled"] is True
    (settings,) = api["Properties"]["MethodSettings"]
    assert "ThrottlingRateLimit" in settings
    assert "ThrottlingBurstLimit" in settings


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
        (statement,) = props["PolicyDocument"]["Statement"]
        assert statement["Effect"] == "Deny"
        assert statement["Principal"] == "*"
        assert statement["Action"] == "sqs:*"
        assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        named = {_target(q) for q in props["Queues"]}
        assert {_target(r) for r in statement["Resource"]} == named
        covered |= named
    assert covered == set(queues)


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
    assert len(rows) == 5
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
            assert gsis[index]["Projection"] == {"ProjectionType": "ALL"}, (name, index)
        declared = {a["AttributeName"]: a["AttributeType"] for a in props["AttributeDefinitions"]}
        used = set(_key(props["KeySchema"]).values()) | {
            a for g in gsis.values() for a in _key(g["KeySchema"]).values()
        }
        assert set(declared) == used, name
        # Every key in the spec is a string (ids, `<a>/<b>/<c>` keys, RFC 3339 times).
        assert set(declared.values()) == {"S"}, name


def test_tables_are_on_demand_encrypted_recoverable_and_expire(template, spec):
    ttl_override = {"IdempotencyTable": "expiration"}
    for name, table in resources_of(template, "AWS::DynamoDB::Table").items():
        props = table["Properties"]
        assert props["BillingMode"] == "PAY_PER_REQUEST", name
        assert props["SSESpecification"]["SSEEnabled"] is True, name
        assert props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
        assert props["TimeToLiveSpecification"] == {
            "AttributeName": ttl_override.get(name, "expires_at"),
            "Enabled": True,
        }, name
        assert "TableName" not in props, f"{name}: fixed names break Retain + redeploy"


def test_data_tables_survive_stack_deletion_and_replacement(template):
    for name in ("EventsTable", "DevicesTable", "DeliveriesTable", "TasksTable"):
        table = template["Resources"][name]
        assert table["DeletionPolicy"] == "Retain", name
        assert table["UpdateReplacePolicy"] == "Retain", name
        assert table["Properties"]["DeletionProtectionEnabled"] == {
            "Fn::If": ["IsProd", True, False]
        }, name


def test_tasks_index_was_replaced_not_added(template, spec):
    # "`TasksTable`'s index is `sla_due` (above), replacing `open_by_due`"
    replaced = re.search(r"`(\w+)`'s index is `(\w+)` \(above\), replacing `(\w+)`", spec)
    assert replaced
    table, new, old = replaced.groups()
    props = template["Resources"][table]["Properties"]
    (gsi,) = props["GlobalSecondaryIndexes"]
    assert gsi["IndexName"] == new != old
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


def test_webhook_secret_rotates_through_its_function(template):
    (schedule,) = resources_of(template, "AWS::SecretsManager::RotationSchedule").values()
    props = schedule["Properties"]
    assert props["SecretId"] == {"Ref": "WebhookSecret"}
    assert props["RotationLambdaARN"] == {"Fn::GetAtt": ["WebhookSecretRotationFunction", "Arn"]}
    assert props["RotationRules"]["AutomaticallyAfterDays"] == {"Ref": "WebhookSecretRotationDays"}
    permission = template["Resources"][schedule["DependsOn"]]
    assert permission["Type"] == "AWS::Lambda::Permission"
    assert permission["Properties"]["Principal"] == "secretsmanager.amazonaws.com"
    assert permission["Properties"]["FunctionName"] == props["RotationLambdaARN"]
    assert permission["Properties"]["SourceAccount"] == {"Ref": "AWS::AccountId"}


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
        "ECMPUSH_SECRETS_MAX_AGE",
    }
    for name, value in secret_vars.items():
        if name.endswith("_SECRET_ID"):
            assert value.get("Ref") in secrets, name  # the secret's ARN, not its value


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
    assert len(rows) >= 21
    for row in rows:
        name = ticked(row[0])[0]
        assert name in env, name
        _check_env_value(name, env[name], row[1], template["Parameters"])
    extra = set(env) - {ticked(r[0])[0] for r in rows}
    assert not extra, f"not in docs/resources.md: {extra}"


def test_local_only_variables_stay_out_of_the_template(spec):
    local_only = spec.split("Local only", 1)[1].split("\n#", 1)[0]
    names = re.findall(r"`([A-Z][A-Z0-9_]+)`", local_only)
    assert "ECMPUSH_FCM_BASE_URL" in names
    text = TEMPLATE.read_text()
    for name in names:
        assert name not in text, name


# ---- IAM -----------------------------------------------------------------------------------------

# Per function: which SAM policy template may point at which resource (docs/resources.md +
# contract). Anything else in Policies fails the test.
EXPECTED_POLICIES = {
    "WebhookIntakeFunction": {
        ("DynamoDBCrudPolicy", "IdempotencyTable"),
        ("DynamoDBCrudPolicy", "EventsTable"),
        ("SQSSendMessagePolicy", "DispatchQueue"),
        ("AWSSecretsManagerGetSecretValuePolicy", "WebhookSecret"),
    },
    "DevicesFunction": {
        ("DynamoDBCrudPolicy", "DevicesTable"),
        ("DynamoDBReadPolicy", "DeliveriesTable"),
        ("AWSSecretsManagerGetSecretValuePolicy", "FirebaseServiceAccountSecret"),
    },
    "DispatchFunction": {
        ("DynamoDBCrudPolicy", "DevicesTable"),
        ("DynamoDBCrudPolicy", "DeliveriesTable"),
        ("DynamoDBCrudPolicy", "EventsTable"),
        ("DynamoDBCrudPolicy", "TasksTable"),
        ("SQSPollerPolicy", "DispatchQueue"),
        ("AWSSecretsManagerGetSecretValuePolicy", "FirebaseServiceAccountSecret"),
        ("AWSSecretsManagerGetSecretValuePolicy", "ActionTokenKeySecret"),
    },
    "ResponseCallbackFunction": {
        ("DynamoDBCrudPolicy", "DeliveriesTable"),
        ("DynamoDBCrudPolicy", "TasksTable"),
        ("DynamoDBReadPolicy", "DevicesTable"),
        ("SQSSendMessagePolicy", "WriteBackQueue"),
        ("SQSSendMessagePolicy", "DispatchQueue"),
        ("AWSSecretsManagerGetSecretValuePolicy", "FirebaseServiceAccountSecret"),
        ("AWSSecretsManagerGetSecretValuePolicy", "ActionTokenKeySecret"),
        ("AWSSecretsManagerGetSecretValuePolicy", "EcmCredentialsSecret"),
    },
    "WriteBackFunction": {
        ("DynamoDBCrudPolicy", "DeliveriesTable"),
        ("DynamoDBCrudPolicy", "TasksTable"),
        ("SQSSendMessagePolicy", "DispatchQueue"),
        ("SQSPollerPolicy", "WriteBackQueue"),
        ("AWSSecretsManagerGetSecretValuePolicy", "EcmCredentialsSecret"),
    },
    "WebhookSecretRotationFunction": set(),
}


def _target(value: Any) -> str:
    """Logical id a policy-template argument points at (Ref or GetAtt)."""
    if "Ref" in value:
        return str(value["Ref"])
    return str(value["Fn::GetAtt"][0])


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


def test_functions_use_only_the_scoped_policy_templates_they_need(template):
    for name, fn in resources_of(template, "AWS::Serverless::Function").items():
        policies = fn["Properties"].get("Policies", [])
        assert "Role" not in fn["Properties"], name
        templates = set()
        for policy in policies:
            assert isinstance(policy, dict), f"{name}: managed policy {policy!r}"
            if "Statement" in policy:
                continue
            ((kind, args),) = policy.items()
            ((_, target),) = args.items()
            templates.add((kind, _target(target)))
        assert templates == EXPECTED_POLICIES[name], name


_SPEC_GRANTS = {
    ("Table", "CRUD"): "DynamoDBCrudPolicy",
    ("Table", "read"): "DynamoDBReadPolicy",
    ("Queue", "send"): "SQSSendMessagePolicy",
    ("Queue", "poller"): "SQSPollerPolicy",
    ("Secret", "read"): "AWSSecretsManagerGetSecretValuePolicy",
}


def _spec_grants(bullet: str) -> set[tuple[str, str]]:
    """Policy-template pairs of a spec bullet ("DeliveriesTable CRUD, ..., secrets A + B read.")."""
    grants = set()
    for item in re.sub(r"\([^)]*\)", "", bullet).rstrip(". ").split(", "):
        *targets, verb = item.removeprefix("secrets ").replace(" + ", " ").split()
        for target in targets:
            kind = re.search(r"(Table|Queue|Secret)$", target)
            assert kind, f"cannot read {item!r}"
            grants.add((_SPEC_GRANTS[(kind[1], verb)], target))
    return grants


def test_policies_of_the_additions_are_the_ones_the_spec_lists(spec):
    section = spec.split(f"\n## {ADDITIONS}", 1)[1].split("IAM (", 1)[1].split("\n### ", 1)[0]
    bullets = dict(re.findall(r"^- `(\w+)`(?: additionally)?: (.*)$", section, re.M))
    assert set(bullets) == {"ResponseCallbackFunction", "WriteBackFunction", "DispatchFunction"}
    for name in ("ResponseCallbackFunction", "WriteBackFunction"):
        assert _spec_grants(bullets[name]) == EXPECTED_POLICIES[name], name
    assert _spec_grants(bullets["DispatchFunction"]) == {("DynamoDBCrudPolicy", "TasksTable")}
    assert _spec_grants(bullets["DispatchFunction"]) < EXPECTED_POLICIES["DispatchFunction"]


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


def test_rotation_function_may_only_touch_the_webhook_secret(template):
    statements = {
        s["Sid"]: s for o, s in _statements(template) if o == "WebhookSecretRotationFunction"
    }
    rotate = statements["RotateWebhookSecret"]
    assert rotate["Resource"] == {"Ref": "WebhookSecret"}
    assert set(rotate["Action"]) == {
        "secretsmanager:DescribeSecret",
        "secretsmanager:GetSecretValue",
        "secretsmanager:PutSecretValue",
        "secretsmanager:UpdateSecretVersionStage",
    }


# ---- alarms and outputs --------------------------------------------------------------------------


def test_alarms_cover_the_dlq_and_every_function(template):
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
    for fn in resources_of(template, "AWS::Serverless::Function"):
        assert ("Errors", fn) in dimensions, fn
    for alarm in alarms:
        props = alarm["Properties"]
        if props["MetricName"] in ("Errors", "ApproximateNumberOfMessagesVisible"):
            assert props["Threshold"] == 0
            assert props["ComparisonOperator"] == "GreaterThanThreshold"
        assert props["AlarmActions"] == {
            "Fn::If": ["HasAlarmTopic", [{"Ref": "AlarmTopicArn"}], {"Ref": "AWS::NoValue"}]
        }
    assert template["Parameters"]["AlarmTopicArn"]["Default"] == ""


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
