"""The deploy path as a person meets it (issue 24): `sam deploy --guided` and the console show the
parameters in the groups of the template's `AWS::CloudFormation::Interface`, every parameter
labelled; samconfig.toml's placeholders are refused by the template's own patterns, so they
cannot be deployed; and what docs/deploy.md counts and lists is counted in template.yaml."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import pytest

from devstack import template as cfn

REPO = Path(__file__).resolve().parents[2]
DEPLOY_DOC = REPO / "docs" / "deploy.md"
REQUIRED = ("AppBaseUrl", "EcmBaseUrl", "FirebaseProjectId")


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return cfn.load()


def _interface(template: dict[str, Any]) -> dict[str, Any]:
    return dict(template["Metadata"]["AWS::CloudFormation::Interface"])


def interface_problems(template: dict[str, Any]) -> list[str]:
    """Every parameter in exactly one group, labelled, and the template's parameter order (the
    order `sam deploy --guided` asks in) the groups' order."""
    interface = _interface(template)
    parameters = list(template["Parameters"])
    grouped = [name for group in interface["ParameterGroups"] for name in group["Parameters"]]
    labels = interface["ParameterLabels"]
    found = [f"{name}: in no parameter group" for name in parameters if name not in grouped]
    found += [f"{name}: grouped but not a parameter" for name in grouped if name not in parameters]
    found += [f"{name}: in two groups" for name in sorted(set(grouped)) if grouped.count(name) > 1]
    found += [f"{name}: no label" for name in parameters if not labels.get(name, {}).get("default")]
    found += [f"{name}: labelled but not a parameter" for name in labels if name not in parameters]
    if not found and grouped != parameters:
        found.append("template.yaml's parameters are not in the order of the parameter groups")
    return found


def test_every_parameter_is_grouped_labelled_and_asked_in_group_order(
    template: dict[str, Any],
) -> None:
    assert interface_problems(template) == []
    first = _interface(template)["ParameterGroups"][0]
    assert set(REQUIRED) <= set(first["Parameters"])  # what --guided cannot default comes first
    assert all("Default" in p for n, p in template["Parameters"].items() if n not in REQUIRED)


def test_the_interface_check_finds_an_ungrouped_or_misordered_parameter(
    template: dict[str, Any],
) -> None:
    orphan = {**template, "Parameters": {**template["Parameters"], "Orphan": {"Type": "String"}}}
    assert interface_problems(orphan) == ["Orphan: in no parameter group", "Orphan: no label"]
    names = list(template["Parameters"])
    swapped = dict(template["Parameters"])
    swapped = {name: swapped[name] for name in [names[1], names[0], *names[2:]]}
    assert interface_problems({**template, "Parameters": swapped}) == [
        "template.yaml's parameters are not in the order of the parameter groups"
    ]


def _overrides(environment: dict[str, Any]) -> dict[str, str]:
    items = environment["deploy"]["parameters"]["parameter_overrides"]
    return dict(item.split("=", 1) for item in items)


@pytest.mark.parametrize("environment", ["default", "prod"])
def test_samconfig_placeholders_are_refused_by_the_template(
    template: dict[str, Any], environment: str
) -> None:
    """CloudFormation checks AllowedPattern before it creates or changes anything: a deploy of
    samconfig.toml as shipped fails on each of the three values a deployer must supply."""
    config = tomllib.loads((REPO / "samconfig.toml").read_text())
    overrides = _overrides(config[environment])
    for name in REQUIRED:
        pattern = template["Parameters"][name]["AllowedPattern"]
        assert re.fullmatch(pattern, overrides[name]) is None, (name, overrides[name])
    for name, value in overrides.items():
        if name not in REQUIRED:
            pattern = template["Parameters"][name].get("AllowedPattern", ".*")
            assert re.fullmatch(pattern, value.strip("'\"")), (name, value)


@pytest.mark.parametrize(
    ("name", "good", "bad"),
    [
        ("AppBaseUrl", "https://app.acme-corp.com", "https://app.example.com"),
        ("AppBaseUrl", "https://myexample.com/app", "https://example.org/app"),
        ("EcmBaseUrl", "https://ecm.acme.de:8443/otcs/cs.exe", "https://ecm.example.net/otcs"),
        ("EcmBaseUrl", "https://otcs.example.community/cs", "http://ecm.acme.de/otcs"),
        ("FirebaseProjectId", "acme-ecmpush-prod", "CHANGE_ME"),
    ],
)
def test_real_values_pass_where_placeholders_fail(
    template: dict[str, Any], name: str, good: str, bad: str
) -> None:
    pattern = template["Parameters"][name]["AllowedPattern"]
    assert re.fullmatch(pattern, good)
    assert re.fullmatch(pattern, bad) is None


def _counts(template: dict[str, Any]) -> dict[str, int]:
    functions = cfn.resources(template, "AWS::Serverless::Function")
    schedules = [
        event
        for function in functions.values()
        for event in function["Properties"].get("Events", {}).values()
        if event["Type"] in ("ScheduleV2", "Schedule")
    ] + list(cfn.resources(template, "AWS::Scheduler::Schedule").values())
    vpc = [
        name
        for name, function in functions.items()
        if "VpcConfig" in function["Properties"]
        or "VpcConfig" in template.get("Globals", {}).get("Function", {})
    ]
    return {
        "Lambda functions": len(functions),
        "schedules (EventBridge Scheduler)": len(schedules),
        "parameters": len(template["Parameters"]),
        "parameter groups": len(_interface(template)["ParameterGroups"]),
        "functions attached to a VPC": len(vpc),
    }


def test_the_counts_in_deploy_doc_are_the_templates(template: dict[str, Any]) -> None:
    text = DEPLOY_DOC.read_text()
    documented = {
        what: int(count) for what, count in re.findall(r"^\| ([^|]+?) \| (\d+) \|$", text, re.M)
    }
    assert {k: documented.get(k) for k in _counts(template)} == _counts(template), (
        "docs/deploy.md's table of counts is stale: put the counts above into it"
    )


def test_deploy_doc_lists_every_parameter(template: dict[str, Any]) -> None:
    text = DEPLOY_DOC.read_text()
    table = text[text.index("| parameter | dev | prod | meaning |") :].split("\n\n")[0]
    named = set(re.findall(r"`(\w+)`", table))
    assert [name for name in template["Parameters"] if name not in named] == []


def test_the_vpc_note_names_every_function_that_calls_content_server(
    template: dict[str, Any],
) -> None:
    """The functions that may read the Content Server credentials are the ones that call it."""
    callers = {
        name
        for name, function in cfn.resources(template, "AWS::Serverless::Function").items()
        if "EcmCredentialsSecret" in str(function["Properties"].get("Policies", ""))
    }
    text = DEPLOY_DOC.read_text()
    note = text[text.index("- VPC access to Content Server.") :].split("\n- ")[0]
    named = set(re.findall(r"`(\w+Function)`", note))
    assert callers
    assert named == callers


def test_the_first_push_path_names_only_outputs_and_targets_that_exist(
    template: dict[str, Any],
) -> None:
    text = DEPLOY_DOC.read_text()
    path = text[text.index("## From an empty AWS account") :].split("\n## ")[0]
    outputs = set(template["Outputs"])
    named_outputs = set(re.findall(r"`([A-Z]\w+(?:Arn|Id|Url))`", path)) - set(
        template["Parameters"]
    )
    assert named_outputs
    assert named_outputs <= outputs, named_outputs - outputs
    makefile = (REPO / "Makefile").read_text()
    targets = set(re.findall(r"^([\w.-]+):", makefile, re.M))
    for target in re.findall(r"`(?:[A-Z_]+=\S+ )?make ([\w-]+)", path):
        assert target in targets, target
