"""Build-time check that the layers' locked sets are enough for the code, function by function.

Each lock (layers/shared/requirements.txt for SharedLayer, layers/firebase/requirements.txt for
FirebaseLayer) is installed with `--no-deps`, so nothing but this check notices when a handler
starts importing something no lock holds, when firebase-admin (whose declared dependencies are
skipped) starts needing one of them, or when a function imports firebase-admin without having
FirebaseLayer attached. It installs the same locked, hashed sets for *this* interpreter (the
arm64 layers cannot be imported on an x86 build host), one directory per layer, adds the ecmpush
package to the shared one, and then, in fresh interpreters started with `-S` (no site-packages:
only the stdlib and those trees):

- executes every import statement in ecmpush and the handlers with every layer on the path,
  including the lazy ones inside functions that only a first call or a rare path reaches (those
  under `if TYPE_CHECKING:` excepted: they never run);
- for each function, with only the layers template.yaml attaches to it (Globals' and its own
  `Layers`): imports its `app.py` as Lambda does (`import app`), once per tracing mode, and
  runs the imports of the `ecmpush.bootstrap` factories its first call reaches
  (`first_call_imports`, also what bench/cold_import times as "first call");
- refuses a package that two locks both install (layers are merged into one /opt/python: the
  later one would silently replace the other's files);
- with `--services aws-services.txt`: prunes the shared tree's botocore/boto3 service models to
  the listed services (aws_services.prune, the build's own step, so every import above runs
  against what ships) and creates a boto3 client, and a resource where boto3 has one, for every
  listed service (region us-east-1, fixed dummy credentials, no network): botocore loads the
  service's `service-2` and `endpoint-rule-set-1` then, so a listed service whose model is
  missing fails. `--built` runs that client check on the layer tree the build just pruned (pure
  Python, so it imports on the build host too) instead of the scratch copy.

Any ImportError fails the build with the function, the statement that needed it and the layers
it had. Run by layers/shared/Makefile (`build-SharedLayer`, `check`) and by
tests/integration/test_layer.py. Standard library only: it runs under the build's python3.13
before anything is installed, which is also why template.yaml is read by `function_layers`, a
scanner of its block layout, and not by a YAML parser (tests compare the two)."""

from __future__ import annotations

import argparse
import ast
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Collection
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import aws_services

# Provided by Lambda's managed Python runtime itself, never by a layer (entrypoints/snapstart.py
# imports it inside `try`/`except ImportError`).
RUNTIME_PROVIDED = ("snapshot_restore_py",)
# Each handler is imported once per tracing mode (observability.py): `sdk` adds aws-xray-sdk.
TRACING_MODES = ("lambda", "sdk")
# The layer that holds the ecmpush package (and the lock given as --requirements).
SHARED = "SharedLayer"

# Runs in the probed interpreter. argv[1]: JSON [module or null, [statements]].
_PROBE = r"""
import importlib, json, sys
module, statements = json.loads(sys.argv[1])
failures = []
if module:
    try:
        importlib.import_module(module)
    except ImportError as exc:
        failures.append({"statement": "import " + module, "error": repr(exc)})
at_import = sorted(sys.modules)
for statement in statements:
    try:
        exec(statement, {})
    except ImportError as exc:
        failures.append({"statement": statement, "error": repr(exc)})
print(json.dumps({"failures": failures, "modules": at_import, "after": sorted(sys.modules)}))
"""

# Runs in the probed interpreter. argv[1]: JSON [services]. Offline: explicit credentials (no
# provider chain, no instance metadata), a fixed region. The service's service-2 and
# endpoint-rule-set-1 are loaded explicitly (a client without its rule set silently falls back
# to legacy endpoint routing), then a client is created, and a resource where boto3 has one.
_CLIENTS_PROBE = r"""
import json, sys
import boto3.session, botocore.session
services = json.loads(sys.argv[1])
core = botocore.session.get_session()
loader = core.get_component("data_loader")
session = boto3.session.Session(region_name="us-east-1", aws_access_key_id="layer-check",
                                aws_secret_access_key="layer-check", botocore_session=core)
resources = set(session.get_available_resources())
failures = []
for name in services:
    try:
        for model in ("service-2", "endpoint-rule-set-1"):
            loader.load_service_model(name, model)
        client = session.client(name)
        assert client.meta.service_model.operation_names, name
        if name in resources:
            session.resource(name)
    except Exception as exc:
        failures.append({"statement": f"boto3 client {name!r}", "error": repr(exc)})
print(json.dumps({"failures": failures, "modules": [], "after": sorted(sys.modules)}))
"""


def install(requirements: Path, target: Path, python: str = sys.executable) -> None:
    """The locked set for `python`'s own platform, exactly as the layer build installs it."""
    subprocess.run(  # noqa: S603 - fixed argument list, no shell
        [python, "-m", "pip", "install", "--quiet", "--no-deps", "--require-hashes",
         "--only-binary=:all:", "--no-compile", "--disable-pip-version-check", "--no-input",
         "--target", str(target), "--requirement", str(requirements)],
        check=True,
        timeout=900,
    )  # fmt: skip


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _statement(node: ast.Import | ast.ImportFrom) -> str | None:
    if isinstance(node, ast.ImportFrom) and (node.level or node.module == "__future__"):
        return None
    roots = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
    if any(root.split(".")[0] in RUNTIME_PROVIDED for root in roots):
        return None
    names = ", ".join(a.name for a in node.names)
    if isinstance(node, ast.Import):
        return f"import {names}"
    return f"from {node.module} import {names}"


def import_statements(source: str) -> list[str]:
    """Every absolute import statement of a module, at any depth, except TYPE_CHECKING ones."""
    found: list[str] = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node):
            for statement_node in node.orelse:
                visit(statement_node)
            return
        if isinstance(node, ast.Import | ast.ImportFrom):
            statement = _statement(node)
            if statement and statement not in found:
                found.append(statement)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(source))
    return found


def probe(
    python: str,
    site: Path | list[Path],
    module: str | None,
    statements: list[str],
    task: Path | list[Path] | None = None,
    environment: dict[str, str] | None = None,
) -> dict[str, list[Any]]:
    """Import `module` (from `task`: the function's code, one directory or several, then
    `site`: one layer tree or several, in /opt/python's order) and run `statements` in a fresh
    `-S` interpreter; the failures and the modules loaded by the import itself."""
    sites = site if isinstance(site, list) else [site]
    tasks = task if isinstance(task, list) else [task]
    return _run(python, _PROBE, [module, statements], [*tasks, *sites], environment)


def probe_clients(python: str, site: Path | list[Path], services: list[str]) -> list[str]:
    """Problems creating a boto3 client (and resource) for each of `services` from `site`."""
    sites = site if isinstance(site, list) else [site]
    result = _run(python, _CLIENTS_PROBE, services, list(sites), None)
    return [f"{failure['statement']}: {failure['error']}" for failure in result["failures"]]


def _run(
    python: str,
    script: str,
    argument: Any,
    path: list[Path | None],
    environment: dict[str, str] | None,
) -> dict[str, list[Any]]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": os.pathsep.join(str(p) for p in path if p),
        "PYTHONDONTWRITEBYTECODE": "1",
        "AWS_DEFAULT_REGION": "eu-central-1",
        # Nothing of the build host's AWS setup: no profile files, no instance metadata.
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_EC2_METADATA_DISABLED": "true",
        "POWERTOOLS_SERVICE_NAME": "ecmpush",
        **(environment or {}),
    }
    done = subprocess.run(  # noqa: S603 - fixed argument list, no shell
        [python, "-S", "-c", script, json.dumps(argument)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"probe crashed ({done.returncode}):\n{done.stderr[-3000:]}")
    result: dict[str, list[Any]] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


# -- which layers each function gets (template.yaml) -------------------------------------------

_REF = re.compile(r"^-\s*!Ref\s+([A-Za-z0-9]+)\s*$")


def _layer_ref(item: str) -> str:
    """The logical id of a `- !Ref Name` Layers item; anything else raises."""
    match = _REF.match(item)
    if match is None:
        raise ValueError(f"template.yaml: Layers item not understood: {item!r}")
    return match.group(1)


def function_layers(template: str) -> dict[str, list[str]]:
    """{function code directory name: layer logical ids}, from template.yaml's Globals
    `Function.Layers` (every function's) followed by each `AWS::Serverless::Function`'s own
    `Layers` (SAM appends those). Only `- !Ref Name` items are understood; anything else in a
    Layers list raises, so a template this scanner misreads fails the build instead of passing."""
    functions: dict[str, list[str]] = {}
    global_layers: list[str] = []
    section = resource = ""
    kind = code = ""
    own: list[str] = []
    collecting: list[str] | None = None
    collect_indent = 0

    def finish() -> None:
        if kind == "AWS::Serverless::Function" and code:
            functions[code] = own

    for raw in template.splitlines():
        line = raw.split(" #")[0].rstrip() if not raw.lstrip().startswith("#") else ""
        if not line.strip():
            continue
        indent = len(line) - len(line.lstrip())
        text = line.strip()
        if collecting is not None:
            if indent > collect_indent and text.startswith("-"):
                collecting.append(_layer_ref(text))
                continue
            collecting = None
        if indent == 0:
            if section == "Resources":
                finish()
            section, resource, kind, code, own = text.rstrip(":"), "", "", "", []
            continue
        if section == "Globals" and indent == 4 and text == "Layers:":
            collecting, collect_indent = global_layers, indent
        elif section == "Resources" and indent == 2 and text.endswith(":"):
            finish()
            resource, kind, code, own = text[:-1], "", "", []
        elif section == "Resources" and resource and indent == 4 and text.startswith("Type:"):
            kind = text.split(":", 1)[1].strip()
        elif section == "Resources" and resource and indent == 6 and text.startswith("CodeUri:"):
            code = text.split(":", 1)[1].strip().rstrip("/").split("/")[-1]
        elif section == "Resources" and resource and indent == 6 and text == "Layers:":
            collecting, collect_indent = own, indent
    if section == "Resources":
        finish()
    return {name: [*global_layers, *layers] for name, layers in functions.items()}


# -- what a handler's first call imports --------------------------------------------------------


def _from_statement(node: ast.Import | ast.ImportFrom) -> str:
    names = ", ".join(a.name + (f" as {a.asname}" if a.asname else "") for a in node.names)
    if isinstance(node, ast.Import):
        return f"import {names}"
    return f"from {'.' * node.level}{node.module or ''} import {names}"


def _module_file(name: str, root: Path) -> Path | None:
    base = root.joinpath(*name.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _ecmpush_imports(tree: ast.AST) -> set[str]:
    """Names of the ecmpush modules a module imports (anywhere in it), submodules included."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names if a.name.startswith("ecmpush"))
        elif (
            isinstance(node, ast.ImportFrom)
            and node.level == 0
            and (node.module or "").split(".")[0] == "ecmpush"
        ):
            module = node.module or ""
            names.add(module)
            names.update(f"{module}.{a.name}" for a in node.names)
    return names


def first_call_imports(app_source: str, root: Path) -> tuple[list[str], list[str]]:
    """(factories, import statements) of `ecmpush.bootstrap` (all its modules) a handler's
    first call runs, with `root` the directory holding the ecmpush package: the factories
    named as `bootstrap.<factory>` in app.py or in any ecmpush module it imports (e.g.
    `ecmpush.entrypoints.app_api.authenticated` for the ID-token verifier), plus the factories
    those reference, transitively. An over-approximation where a shared module names a factory the
    handler never reaches; the factories are returned, so that is visible."""
    package = sorted((root / "ecmpush" / "bootstrap").glob("*.py"))
    functions = {
        n.name: n
        for path in package
        for n in ast.parse(path.read_text()).body
        if isinstance(n, ast.FunctionDef)
    }
    trees = [ast.parse(app_source)]
    seen = {"ecmpush.bootstrap", *(f"ecmpush.bootstrap.{p.stem}" for p in package)}
    todo = sorted(_ecmpush_imports(trees[0]))
    while todo:
        name = todo.pop()
        path = _module_file(name, root)
        if name in seen or path is None:
            continue
        seen.add(name)
        tree = ast.parse(path.read_text())
        trees.append(tree)
        todo.extend(sorted(_ecmpush_imports(tree) - seen))
    used = {
        node.attr
        for tree in trees
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id == "bootstrap"
        and node.attr in functions
    }
    pending = sorted(used)
    while pending:
        for node in ast.walk(functions[pending.pop()]):
            if isinstance(node, ast.Name) and node.id in functions and node.id not in used:
                used.add(node.id)
                pending.append(node.id)
    statements: list[str] = []
    for name in sorted(used):
        for node in ast.walk(functions[name]):
            if isinstance(node, ast.Import | ast.ImportFrom):
                statement = _from_statement(node)
                if statement not in statements:
                    statements.append(statement)
    return sorted(used), statements


# -- the check -----------------------------------------------------------------------------------


def _distributions(site: Path) -> set[str]:
    return {p.name.split("-")[0].lower() for p in site.glob("*.dist-info")}


def check(
    requirements: Path,
    ecmpush: Path,
    functions: Path | None,
    site: Path | None = None,
    layers: dict[str, Path] | None = None,
    template: Path | None = None,
    sites: dict[str, Path] | None = None,
    services: Collection[str] | None = None,
    built: Path | None = None,
) -> list[str]:
    """Problems found (empty when the locks suffice). `requirements` is SharedLayer's lock,
    `layers` the other layers' ({logical id: lock}); each is installed into a scratch tree
    unless given already populated in `site` (SharedLayer's) / `sites` (tests reuse one
    install). Without `template` every function is checked with every layer. With `services`
    (aws-services.txt's names) the shared tree's AWS models are pruned to them and a client is
    created for each, from `built` (the layer tree the build pruned) if given."""
    scratch = Path(tempfile.mkdtemp(prefix="ecmpush-layer-check-"))
    try:
        trees: dict[str, Path] = dict(sites or {})
        if site is not None:
            trees[SHARED] = site
        missing = {
            name: lock
            for name, lock in {SHARED: requirements, **(layers or {})}.items()
            if name not in trees
        }
        trees.update({name: scratch / name / "python" for name in missing})
        # Each check is a pip or python subprocess: run them side by side (results in order).
        with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
            list(pool.map(lambda item: install(item[1], trees[item[0]]), missing.items()))
            problems = _prune_services(trees[SHARED], services)
            clients = (
                pool.submit(probe_clients, sys.executable, built or trees[SHARED], sorted(services))
                if services and not problems
                else None
            )
            problems += _check_trees(pool, trees, ecmpush, functions, template)
            if clients is not None:
                problems += [f"{built or SHARED}: {p}" for p in clients.result()]
            return problems
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _prune_services(tree: Path, services: Collection[str] | None) -> list[str]:
    if not services:
        return []
    try:
        aws_services.prune(tree, services)
    except aws_services.ServiceListError as exc:
        return [f"aws-services.txt: {exc}"]
    return []


# Functions whose artifact holds first-party packages besides their own directory (their
# Makefile copies them in): the directory, relative to the function's, whose packages the
# artifact holds. functions/relay_poll/Makefile copies senders/ (the relay's modules).
BUNDLED = {"relay_poll": "../.."}


def _function_code(app: Path) -> list[Path]:
    bundled = BUNDLED.get(app.parent.name)
    return [app.parent] + ([(app.parent / bundled).resolve()] if bundled else [])


def _check_trees(
    pool: ThreadPoolExecutor,
    trees: dict[str, Path],
    ecmpush: Path,
    functions: Path | None,
    template: Path | None,
) -> list[str]:
    shared = trees[SHARED]
    if not (shared / "ecmpush").exists():
        ignore = shutil.ignore_patterns("__pycache__")
        shutil.copytree(ecmpush, shared / "ecmpush", ignore=ignore)
    problems: list[str] = []
    names = sorted(trees)
    for i, first in enumerate(names):
        for other in names[i + 1 :]:
            for dist in sorted(_distributions(trees[first]) & _distributions(trees[other])):
                problems.append(f"{dist} is installed by both {first} and {other}")
    order = [SHARED, *(n for n in names if n != SHARED)]
    sources = sorted(ecmpush.rglob("*.py"))
    apps = sorted(functions.glob("*/app.py")) if functions else []
    statements: list[str] = []
    for path in [*sources, *apps]:
        statements.extend(s for s in import_statements(path.read_text()) if s not in statements)
    everything = [trees[n] for n in order]
    bundled = sorted({code for app in apps for code in _function_code(app)[1:]})
    jobs = [("", pool.submit(probe, sys.executable, everything, None, statements, bundled))]
    attached = function_layers(template.read_text()) if template else {}
    for app in apps:
        layer_names = attached.get(app.parent.name, order)
        unknown = [n for n in layer_names if n not in trees]
        if unknown:
            problems.append(f"{app.parent.name}: no lock given for layer(s) {unknown}")
            continue
        layer_trees = [trees[n] for n in layer_names]
        _, first_call = first_call_imports(app.read_text(), shared)
        for mode in TRACING_MODES:
            label = f"{app.parent.name} ({'+'.join(layer_names)}, tracing {mode}): "
            env = {"ECMPUSH_TRACING": mode}
            job = pool.submit(
                probe, sys.executable, layer_trees, "app", first_call, _function_code(app), env
            )
            jobs.append((label, job))
    for label, job in jobs:
        problems.extend(
            f"{label}{failure['statement']}: {failure['error']}"
            for failure in job.result()["failures"]
        )
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requirements", type=Path, required=True)
    parser.add_argument("--ecmpush", type=Path, required=True)
    parser.add_argument("--functions", type=Path)
    parser.add_argument(
        "--layer",
        action="append",
        default=[],
        metavar="NAME=LOCK",
        help="another layer's logical id and lock (repeatable); SharedLayer is --requirements",
    )
    parser.add_argument("--template", type=Path, help="template.yaml: each function's layers")
    parser.add_argument("--services", type=Path, help="aws-services.txt: the AWS models kept")
    parser.add_argument("--built", type=Path, help="the pruned layer tree to create clients from")
    args = parser.parse_args(argv)
    layers = dict(item.split("=", 1) for item in args.layer)
    problems = check(
        args.requirements,
        args.ecmpush,
        args.functions,
        layers={name: Path(lock) for name, lock in layers.items()},
        template=args.template,
        services=aws_services.read_services(args.services) if args.services else None,
        built=args.built,
    )
    for problem in problems:
        print(f"layer_check: {problem}", file=sys.stderr)
    if problems:
        print(
            f"layer_check: {len(problems)} problem(s): add the distribution to the layer's "
            "requirements.in and run `make -C layers/shared lock`, or attach the layer to the "
            "function in template.yaml",
            file=sys.stderr,
        )
        return 1
    where = args.functions or "no functions"
    print(f"layer_check: every import of ecmpush and {where} resolves with its layers")
    if args.services:
        tree = args.built or "the pruned scratch tree"
        print(f"layer_check: a client of each service in {args.services} is made from {tree}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
