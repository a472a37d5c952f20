"""Build-time check that the layer's locked set (requirements.txt) is enough for the code.

requirements.txt is installed with `--no-deps`, so nothing but this check notices when a
handler starts importing something the lock does not hold (or when firebase-admin, whose
declared dependencies are skipped, starts needing one of them). It installs the same locked,
hashed set for *this* interpreter (the arm64 layer cannot be imported on an x86 build host),
adds the ecmpush package, and then, in fresh interpreters started with `-S` (no site-packages:
only the stdlib and that tree):

- imports every function's `app.py` as Lambda does (`import app`), once per tracing mode;
- executes every import statement in ecmpush and the handlers, including the lazy ones inside
  functions that only a first call or a rare path reaches (those under `if TYPE_CHECKING:`
  excepted: they never run).

Any ImportError fails the build with the module and the statement that needed it. Run by
layers/shared/Makefile (`build-SharedLayer`, `check`) and by tests/integration/test_layer.py.
Standard library only: it runs under the build's python3.13 before anything is installed."""

from __future__ import annotations

import argparse
import ast
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

# Provided by Lambda's managed Python runtime itself, never by a layer (ecmpush/snapstart.py
# imports it inside `try`/`except ImportError`).
RUNTIME_PROVIDED = ("snapshot_restore_py",)
# Each handler is imported once per tracing mode (observability.py): `sdk` adds aws-xray-sdk.
TRACING_MODES = ("lambda", "sdk")

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
    site: Path,
    module: str | None,
    statements: list[str],
    task: Path | None = None,
    environment: dict[str, str] | None = None,
) -> dict[str, list[Any]]:
    """Import `module` (from `task`, then `site`) and run `statements` in a fresh `-S`
    interpreter; the failures and the modules loaded by the import itself."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": os.pathsep.join(str(p) for p in (task, site) if p),
        "PYTHONDONTWRITEBYTECODE": "1",
        "AWS_DEFAULT_REGION": "eu-central-1",
        "POWERTOOLS_SERVICE_NAME": "ecmpush",
        **(environment or {}),
    }
    done = subprocess.run(  # noqa: S603 - fixed argument list, no shell
        [python, "-S", "-c", _PROBE, json.dumps([module, statements])],
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


def check(
    requirements: Path, ecmpush: Path, functions: Path | None, site: Path | None = None
) -> list[str]:
    """Problems found (empty when the lock suffices). Installs into `site` unless it is given
    already populated (tests reuse one install)."""
    scratch = None
    if site is None:
        scratch = Path(tempfile.mkdtemp(prefix="ecmpush-layer-check-"))
        site = scratch / "python"
        install(requirements, site)
    try:
        if not (site / "ecmpush").exists():
            shutil.copytree(ecmpush, site / "ecmpush", ignore=shutil.ignore_patterns("__pycache__"))
        sources = sorted(ecmpush.rglob("*.py"))
        apps = sorted(functions.glob("*/app.py")) if functions else []
        statements: list[str] = []
        for path in [*sources, *apps]:
            statements.extend(s for s in import_statements(path.read_text()) if s not in statements)
        problems = [
            f"{failure['statement']}: {failure['error']}"
            for failure in probe(sys.executable, site, None, statements)["failures"]
        ]
        for app in apps:
            for mode in TRACING_MODES:
                env = {"ECMPUSH_TRACING": mode}
                for failure in probe(sys.executable, site, "app", [], app.parent, env)["failures"]:
                    problems.append(
                        f"{app.parent.name} (tracing {mode}): {failure['statement']}: "
                        f"{failure['error']}"
                    )
        return problems
    finally:
        if scratch:
            shutil.rmtree(scratch, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requirements", type=Path, required=True)
    parser.add_argument("--ecmpush", type=Path, required=True)
    parser.add_argument("--functions", type=Path)
    args = parser.parse_args(argv)
    problems = check(args.requirements, args.ecmpush, args.functions)
    for problem in problems:
        print(f"layer_check: {problem}", file=sys.stderr)
    if problems:
        print(
            f"layer_check: {len(problems)} import(s) the locked set cannot satisfy: add the "
            "distribution to requirements.in and run `make -C layers/shared lock`",
            file=sys.stderr,
        )
        return 1
    print(f"layer_check: every import of ecmpush and {args.functions or 'no functions'} resolves")
    return 0


if __name__ == "__main__":
    sys.exit(main())
