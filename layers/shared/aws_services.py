"""The AWS services SharedLayer carries models for (aws-services.txt), the build step that keeps
only those, and the scan that finds which services the code uses.

boto3 and botocore are pinned in the layer (the runtime's copy lags and differs per region), and
botocore ships the API model of every AWS service: about 440 directories under botocore/data,
18 MB of the shared layer's 46 MB, of which ecmpush calls five. A botocore client reads only its
own service's directory (`service-2`, `endpoint-rule-set-1`, paginators, waiters) plus the
top-level files every client needs (endpoints.json, partitions.json, _retry.json,
sdk-default-configuration.json), so the others can go without changing what runs.

Deleting them is a declared step, checked from both sides, so that a new AWS call cannot ship
without its model:
- `prune` (run by layers/shared/Makefile after the locked install, on the tree that becomes the
  layer and that bench/cold_import copies) keeps botocore/data/<service> and boto3/data/<service>
  only for the listed services and refuses a listed name botocore does not have;
- layer_check.py creates a client (and a boto3 resource where boto3 has one) for every listed
  service from the pruned tree, offline, and fails the build when one cannot be created;
- tests/unit/test_aws_services.py runs `uses_in` over the product code (layers/shared/ecmpush,
  functions/) and fails when it creates a client for a service that is not listed, or when a
  listed service is used nowhere.

Standard library only: it runs under the build's python3.13 before anything is installed."""

from __future__ import annotations

import argparse
import ast
import re
import shutil
import sys
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from pathlib import Path

# Where boto3 and botocore keep one directory per service, relative to the layer's python/.
MODEL_ROOTS = ("botocore/data", "boto3/data")
_NAME = re.compile(r"^[a-z0-9][a-z0-9-]*$")

# Calls that create a boto3/botocore client for the service named by their first argument (or
# `service_name=`): boto3.client / boto3.resource, Session.client / Session.resource and
# botocore's Session.create_client, called on any receiver or imported bare from boto3.
CLIENT_FACTORIES = frozenset({"client", "resource", "create_client"})
# Powertools names that create a client of their own when used, and the service it is for.
POWERTOOLS_CLIENTS = {
    "SecretsProvider": "secretsmanager",
    "get_secret": "secretsmanager",
    "get_secrets_by_name": "secretsmanager",
    "set_secret": "secretsmanager",
    "SSMProvider": "ssm",
    "get_parameter": "ssm",
    "get_parameters": "ssm",
    "get_parameters_by_name": "ssm",
    "set_parameter": "ssm",
    "AppConfigProvider": "appconfigdata",
    "get_app_config": "appconfigdata",
    "AppConfigStore": "appconfigdata",
    "DynamoDBProvider": "dynamodb",
    "DynamoDBPersistenceLayer": "dynamodb",
    "S3Object": "s3",
    "CodePipelineJobEvent": "s3",
    # aws-xray-sdk's sampling connector (botocore create_client("xray")), with the SDK tracer.
    "Tracer": "xray",
}


class ServiceListError(ValueError):
    """aws-services.txt is malformed, or names a service botocore has no model for."""


def parse_services(text: str) -> dict[str, str]:
    """{service: who uses it} from aws-services.txt's text. Every entry needs its comment: the
    list is only reviewable if each line says why it is there."""
    services: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        name, _, comment = raw.partition("#")
        name, comment = name.strip(), comment.strip()
        if not name:
            continue
        if not _NAME.match(name):
            raise ServiceListError(f"line {number}: {name!r} is not a botocore service name")
        if not comment:
            raise ServiceListError(f"line {number}: {name} needs a `# who uses it` comment")
        if name in services:
            raise ServiceListError(f"line {number}: {name} is listed twice")
        services[name] = comment
    if not services:
        raise ServiceListError("no service listed")
    return services


def read_services(path: Path) -> dict[str, str]:
    return parse_services(path.read_text())


def prune(tree: Path, services: Collection[str]) -> list[str]:
    """Delete every service directory under `tree`'s botocore/data and boto3/data that is not in
    `services`; files at the top of those directories stay. Returns the botocore services
    removed. Raises ServiceListError, before deleting anything, for a listed service botocore
    has no directory for (a typo would otherwise ship a layer whose first call fails)."""
    botocore_data = tree / MODEL_ROOTS[0]
    if not botocore_data.is_dir():
        raise ServiceListError(f"{botocore_data} is missing: is botocore installed in {tree}?")
    unknown = sorted(name for name in services if not (botocore_data / name).is_dir())
    if unknown:
        raise ServiceListError(f"not in botocore/data (misspelt, or already pruned): {unknown}")
    removed: list[str] = []
    for root in MODEL_ROOTS:
        for directory in sorted((tree / root).glob("*/")):
            if directory.name not in services:
                shutil.rmtree(directory)
                if root == MODEL_ROOTS[0]:
                    removed.append(directory.name)
    return removed


def shipped_services(tree: Path) -> list[str]:
    """The services a (pruned or not) layer tree has botocore models for."""
    return sorted(p.name for p in (tree / MODEL_ROOTS[0]).glob("*/"))


# -- which services the code uses ---------------------------------------------------------------


@dataclass(frozen=True)
class Use:
    """One place that creates an AWS client. `service` is None when the name is not a literal
    (then nobody can check it against the list)."""

    service: str | None
    where: str


def _literal_service(call: ast.Call) -> str | None:
    candidates = [*call.args[:1], *(k.value for k in call.keywords if k.arg == "service_name")]
    for node in candidates:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return node.value
    return None


def _root_name(node: ast.expr) -> str | None:
    while isinstance(node, ast.Attribute):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def _imported(tree: ast.AST, package: str) -> tuple[set[str], dict[str, str]]:
    """The local names `import ...` binds to `package`'s modules, and {local name: imported
    name} for what `from <package>... import ...` binds."""
    modules: set[str] = set()
    names: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules.update(
                alias.asname or alias.name.split(".")[0]
                for alias in node.names
                if alias.name.split(".")[0] == package
            )
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == package:
            names.update((alias.asname or alias.name, alias.name) for alias in node.names)
    return modules, names


def uses_in(source: str, where: str) -> list[Use]:
    """The AWS clients one module creates: `<x>.client("svc")`, `<x>.resource("svc")`,
    `<x>.create_client("svc")` (any receiver: boto3, a Session, botocore's session) and those
    factories imported bare (`from boto3 import client`); the Powertools names of
    POWERTOOLS_CLIENTS imported from aws_lambda_powertools, or used through a Powertools module
    imported either way (`import aws_lambda_powertools...`, or `from
    aws_lambda_powertools.utilities import parameters` as Powertools' own docs do). `where`
    prefixes each place (`where:line`)."""
    tree = ast.parse(source)
    powertools_modules, powertools_names = _imported(tree, "aws_lambda_powertools")
    powertools_modules |= set(powertools_names)  # parameters.get_secret, idempotency.Dynamo...
    bare_factories = {
        local
        for package in ("boto3", "botocore")
        for local, name in _imported(tree, package)[1].items()
        if name in CLIENT_FACTORIES
    }
    uses: list[Use] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
            "aws_lambda_powertools"
        ):
            uses.extend(
                Use(POWERTOOLS_CLIENTS[alias.name], f"{where}:{node.lineno}")
                for alias in node.names
                if alias.name in POWERTOOLS_CLIENTS
            )
        elif (
            isinstance(node, ast.Attribute)
            and node.attr in POWERTOOLS_CLIENTS
            and _root_name(node.value) in powertools_modules
        ):
            uses.append(Use(POWERTOOLS_CLIENTS[node.attr], f"{where}:{node.lineno}"))
        elif isinstance(node, ast.Call) and (
            (isinstance(node.func, ast.Attribute) and node.func.attr in CLIENT_FACTORIES)
            or (isinstance(node.func, ast.Name) and node.func.id in bare_factories)
        ):
            uses.append(Use(_literal_service(node), f"{where}:{node.lineno}"))
    return uses


def uses_under(roots: Iterable[Path], relative_to: Path) -> list[Use]:
    """`uses_in` over every .py file below `roots`, places relative to `relative_to`."""
    return [
        use
        for root in roots
        for path in sorted(root.rglob("*.py"))
        if "__pycache__" not in path.parts
        for use in uses_in(path.read_text(), str(path.relative_to(relative_to)))
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Keep only the listed services' AWS models.")
    parser.add_argument("command", choices=["prune"])
    parser.add_argument("--services", type=Path, required=True, help="aws-services.txt")
    parser.add_argument("tree", type=Path, help="the layer's python/ directory")
    args = parser.parse_args(argv)
    try:
        services = read_services(args.services)
        before = len(shipped_services(args.tree))
        removed = prune(args.tree, services)
    except ServiceListError as exc:
        print(f"aws_services: {args.services}: {exc}", file=sys.stderr)
        return 1
    print(
        f"aws_services: kept the models of {len(services)} of {before} services "
        f"({', '.join(sorted(services))}); {len(removed)} removed"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
