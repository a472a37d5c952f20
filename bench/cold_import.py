"""cold_import: what a cold start pays to import each handler's module graph, with and without
byte-compiled (.pyc) files in the layer.

What is imported, per handler (read from the code, not listed by hand, so it follows changes):

- init: the handler module itself (functions/<fn>/app.py, imported as `app` like Lambda's
  `app.lambda_handler`), i.e. everything it and `ecmpush.bootstrap` import at module level;
- first call: the imports that `ecmpush.bootstrap`'s factories run lazily, for the factories
  the handler reaches (found with `ast`: `bootstrap.<factory>` in app.py or in the ecmpush
  modules it imports, then through bootstrap.py itself), executed as the same
  `from X import Y` statements;
- boto3 clients: the first `boto3.client("secretsmanager")`, `boto3.resource("dynamodb")` and
  `boto3.client("sqs")` (no network): first-call work the .pyc files do not change.

How "without .pyc" is forced: the layer is rebuilt like `layers/shared/Makefile` does it, as a
`pip install --target --no-compile` tree plus the ecmpush package, with no `__pycache__`
anywhere, and imported with PYTHONDONTWRITEBYTECODE=1 so it stays that way: every module of the
layer (and the handler's app.py) is compiled from source on every run, as on Lambda's read-only
/opt. The interpreter's own stdlib keeps its .pyc, as the Lambda runtime image does. (A
`-X pycache_prefix` pointing at an empty dir would also recompile the stdlib, which Lambda never
does, and overstate the cost.) "With .pyc" is a copy of that tree compiled exactly as the
Makefile does (`compileall --invalidation-mode unchecked-hash`). The benchmark checks that the
no-.pyc tree still has zero .pyc files after the runs.

Times are measured inside a fresh interpreter per run (subprocess), from just before `import app`,
so interpreter start-up (the same in both variants) is not included."""

from __future__ import annotations

import ast
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench._common import LAYER_DIR, REPO, Json, Row, Spec, ratio, stats

NAME = "cold_import"
HANDLERS = ("WebhookIntakeFunction", "DispatchFunction", "DevicesFunction")
VARIANTS = ("with_pyc", "without_pyc")
WORK_ROOT = Path(tempfile.gettempdir()) / "ecmpush-bench"
# Libraries whose presence after each phase the result lists (the "combination" a handler pays).
TRACKED = (
    "boto3",
    "pydantic",
    "aws_xray_sdk",
    "aws_lambda_powertools.event_handler",
    "aws_lambda_powertools.utilities.batch",
    "aws_lambda_powertools.utilities.idempotency",
    "aws_lambda_powertools.utilities.parameters",
    "firebase_admin",
    "firebase_admin.messaging",
    "firebase_admin.auth",
)
_GROUPS: dict[str, str] = {
    **dict.fromkeys(("boto3", "botocore", "s3transfer", "jmespath", "dateutil"), "boto3/botocore"),
    **dict.fromkeys(
        ("pydantic", "pydantic_core", "annotated_types", "typing_extensions", "typing_inspection"),
        "pydantic",
    ),
    **dict.fromkeys(("aws_lambda_powertools",), "powertools"),
    **dict.fromkeys(("aws_xray_sdk", "wrapt"), "aws-xray-sdk"),
    **dict.fromkeys(
        (
            "firebase_admin",
            "google",
            "googleapiclient",
            "google_auth_httplib2",
            "httplib2",
            "uritemplate",
            "cachecontrol",
            "msgpack",
            "proto",
            "grpc",
            "pyasn1",
            "pyasn1_modules",
            "rsa",
            "cachetools",
            "jwt",
            "h2",
            "hpack",
            "hyperframe",
            "httpx",
            "httpcore",
            "anyio",
            "sniffio",
            "h11",
        ),
        "firebase-admin + google",
    ),
    **dict.fromkeys(("cryptography", "cffi", "_cffi_backend"), "cryptography"),
    **dict.fromkeys(
        ("requests", "urllib3", "charset_normalizer", "idna", "certifi"), "requests/urllib3"
    ),
    **dict.fromkeys(("ecmpush", "app"), "ecmpush + handler"),
}

# Runs in the measured interpreter. argv[1]: JSON [handler module, lazy statements, tracked].
_CHILD = r"""
import importlib, json, sys, time
module, lazy, tracked = json.loads(sys.argv[1])
present = lambda: [m for m in tracked if m in sys.modules]
sys.stderr.write("#BENCH-START\n"); sys.stderr.flush()
t0 = time.perf_counter()
importlib.import_module(module)
t1 = time.perf_counter()
at_init = present()
for statement in lazy:
    exec(statement, {})
t2 = time.perf_counter()
sys.stderr.write("#BENCH-END\n"); sys.stderr.flush()
import boto3
boto3.client("secretsmanager"); boto3.resource("dynamodb"); boto3.client("sqs")
t3 = time.perf_counter()
print(json.dumps({"init_s": t1 - t0, "first_call_s": t2 - t1, "clients_s": t3 - t2,
                  "modules": len(sys.modules), "at_init": at_init, "after_first_call": present()}))
"""


# -- what each handler imports -----------------------------------------------------------------


def _statement(node: ast.Import | ast.ImportFrom) -> str:
    names = ", ".join(a.name + (f" as {a.asname}" if a.asname else "") for a in node.names)
    if isinstance(node, ast.Import):
        return f"import {names}"
    return f"from {'.' * node.level}{node.module or ''} import {names}"


def _module_file(name: str, layer: Path) -> Path | None:
    base = layer.joinpath(*name.split("."))
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


def lazy_imports(app_source: str, layer: Path) -> tuple[list[str], list[str]]:
    """(factories, import statements) of `ecmpush.bootstrap` a handler's first call runs: the
    factories named as `bootstrap.<factory>` in app.py or in any ecmpush module it imports
    (e.g. `ecmpush.app_api.authenticated` for the ID-token verifier), plus the factories those
    reference, transitively. An over-approximation where a shared module names a factory the
    handler never reaches; the result lists the factories, so that is visible."""
    bootstrap = ast.parse((layer / "ecmpush" / "bootstrap.py").read_text())
    functions = {n.name: n for n in bootstrap.body if isinstance(n, ast.FunctionDef)}
    trees = [ast.parse(app_source)]
    seen = {"ecmpush.bootstrap"}
    todo = sorted(_ecmpush_imports(trees[0]))
    while todo:
        name = todo.pop()
        path = _module_file(name, layer)
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
                statement = _statement(node)
                if statement not in statements:
                    statements.append(statement)
    return sorted(used), statements


# -- the layer trees ---------------------------------------------------------------------------


def _capture(
    args: list[str], timeout: float, env: dict[str, str] | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    """Run one of our own interpreter/pip/compileall commands and capture its output."""
    return subprocess.run(  # noqa: S603 - fixed argument lists, no shell
        args, capture_output=True, text=True, timeout=timeout, env=env, check=check
    )


def _python_version(python: str) -> str | None:
    try:
        done = _capture([python, "-c", "import sys; print('%d.%d.%d' % sys.version_info[:3])"], 30)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() or None


def find_python313() -> tuple[str, str, bool]:
    """(interpreter, version, is_fallback): $ECMPUSH_BENCH_PYTHON, python3.13 on PATH, pyenv's
    newest 3.13 (as layers/shared/Makefile looks for it), else this interpreter."""
    candidates: list[str] = []
    if os.environ.get("ECMPUSH_BENCH_PYTHON"):
        candidates.append(os.environ["ECMPUSH_BENCH_PYTHON"])
    which = shutil.which("python3.13")
    if which:
        candidates.append(which)
    pyenv = shutil.which("pyenv")
    if pyenv:
        try:
            root = _capture([pyenv, "root"], 30).stdout.strip()
            latest = _capture([pyenv, "latest", "3.13"], 30).stdout.strip()
            candidates.append(f"{root}/versions/{latest}/bin/python3.13")
        except (OSError, subprocess.SubprocessError):
            pass
    for candidate in candidates:
        version = _python_version(candidate)
        if version and version.startswith("3.13."):
            real = _capture(
                [candidate, "-c", "import sys; print(sys.executable)"], 30
            ).stdout.strip()
            return real, version, False
    return sys.executable, _python_version(sys.executable) or "?", True


def _count(tree: Path, suffix: str) -> int:
    return sum(1 for _ in tree.rglob(f"*{suffix}"))


def _compile(python: str, target: Path) -> None:
    _capture(
        [python, "-m", "compileall", "-q", "-j", "0", "--invalidation-mode", "unchecked-hash",
         str(target)],
        600,
    )  # fmt: skip


def build_layers(python: str, version: str) -> tuple[Path, Path, Json]:
    """The layer without and with .pyc. Dependencies are installed once per requirements,
    constraints and interpreter (cached under the temp dir); ecmpush is copied fresh each run."""
    requirements = LAYER_DIR / "requirements.txt"
    constraints = REPO / "requirements" / "constraints.txt"
    key = hashlib.sha256()
    for path in (requirements, constraints):
        key.update(path.read_bytes())
    key.update(version.encode())
    root = WORK_ROOT / f"layer-{version}-{key.hexdigest()[:12]}"
    bare, compiled = root / "without_pyc", root / "with_pyc"
    info: Json = {"cache_dir": str(root), "built_now": False}
    if not (root / ".complete").exists():
        started = time.monotonic()
        shutil.rmtree(root, ignore_errors=True)
        bare.mkdir(parents=True)
        env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
        done = _capture(
            [python, "-m", "pip", "install", "--quiet", "--no-compile",
             "--disable-pip-version-check", "--no-input", "--target", str(bare),
             "--requirement", str(requirements), "--constraint", str(constraints)],
            900,
            env=env,
            check=False,
        )  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(f"pip install of the layer failed:\n{done.stderr[-3000:]}")
        # As the Makefile: no console scripts, test suites or stray caches.
        shutil.rmtree(bare / "bin", ignore_errors=True)
        for directory in sorted(bare.rglob("*"), reverse=True):
            if directory.is_dir() and directory.name in ("__pycache__", "tests"):
                shutil.rmtree(directory)
        for stray in [*bare.rglob("*.pyc"), *bare.rglob("*.pyo")]:
            stray.unlink()
        shutil.copytree(bare, compiled)
        _compile(python, compiled)
        (root / ".complete").write_text(version + "\n")
        info.update(built_now=True, build_s=round(time.monotonic() - started, 1))
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for tree in (bare, compiled):
        shutil.rmtree(tree / "ecmpush", ignore_errors=True)
        shutil.copytree(LAYER_DIR / "ecmpush", tree / "ecmpush", ignore=ignore)
    _compile(python, compiled / "ecmpush")
    info.update(
        py_files=_count(bare, ".py"),
        pyc_files_with=_count(compiled, ".pyc"),
        pyc_files_without=_count(bare, ".pyc"),
    )
    return bare, compiled, info


# -- measuring ---------------------------------------------------------------------------------

_IMPORTTIME = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)")


def _group(module: str) -> str:
    top = module.split(".")[0]
    if top in _GROUPS:
        return _GROUPS[top]
    if top in sys.stdlib_module_names or top.startswith("_"):
        return "stdlib"
    return "other"


def importtime_breakdown(stderr: str) -> dict[str, float]:
    """Self time (ms) per library group between the child's start and end markers."""
    totals: dict[str, float] = {}
    inside = False
    for line in stderr.splitlines():
        if line == "#BENCH-START":
            inside = True
        elif line == "#BENCH-END":
            break
        elif inside and (match := _IMPORTTIME.match(line)):
            group = _group(match.group(4))
            totals[group] = totals.get(group, 0.0) + int(match.group(1)) / 1000
    return dict(sorted(((k, round(v, 1)) for k, v in totals.items()), key=lambda kv: -kv[1]))


def _run_child(
    python: str, layer: Path, task: Path, payload: str, importtime: bool
) -> tuple[Json, str]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": f"{task}{os.pathsep}{layer}",
        "PYTHONDONTWRITEBYTECODE": "1",
        "AWS_DEFAULT_REGION": "eu-central-1",
        "POWERTOOLS_SERVICE_NAME": "ecmpush",
        "LANG": "C.UTF-8",
    }
    command = [python, "-s", *(["-X", "importtime"] if importtime else []), "-c", _CHILD, payload]
    done = _capture(command, 120, env=env, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"import child failed ({done.returncode}):\n{done.stderr[-3000:]}")
    measured: Json = json.loads(done.stdout.strip().splitlines()[-1])
    return measured, done.stderr


def run(quick: bool) -> Json:
    from devstack import template as cfn

    reps = 1 if quick else 5
    python, version, fallback = find_python313()
    bare, compiled, layer_info = build_layers(python, version)
    layers = {"with_pyc": compiled, "without_pyc": bare}
    specs = cfn.functions(cfn.load())
    tasks = WORK_ROOT / f"task-{version}"
    shutil.rmtree(tasks, ignore_errors=True)

    plans: dict[str, Json] = {}
    for logical_id in HANDLERS:
        spec = specs[logical_id]
        module = spec.handler.rpartition(".")[0]
        source_file = spec.code_uri / f"{module.replace('.', '/')}.py"
        task = tasks / logical_id
        task.mkdir(parents=True)
        shutil.copy2(source_file, task / source_file.name)
        factories, statements = lazy_imports(source_file.read_text(), LAYER_DIR)
        plans[logical_id] = {
            "task": task,
            "payload": json.dumps([module, statements, list(TRACKED)]),
            "factories": factories,
            "statements": statements,
        }

    samples: dict[str, dict[str, dict[str, list[float]]]] = {
        h: {v: {"init_s": [], "first_call_s": [], "total_s": [], "clients_s": []} for v in VARIANTS}
        for h in HANDLERS
    }
    facts: dict[str, Json] = {}
    for rep in range(reps):
        for logical_id in HANDLERS:
            plan = plans[logical_id]
            # Alternate the order so drift on a noisy machine does not favour one variant.
            for variant in VARIANTS if rep % 2 == 0 else tuple(reversed(VARIANTS)):
                measured, _ = _run_child(
                    python, layers[variant], plan["task"], plan["payload"], False
                )
                bucket = samples[logical_id][variant]
                bucket["init_s"].append(measured["init_s"])
                bucket["first_call_s"].append(measured["first_call_s"])
                bucket["total_s"].append(measured["init_s"] + measured["first_call_s"])
                bucket["clients_s"].append(measured["clients_s"])
                facts[logical_id] = measured

    breakdown: dict[str, dict[str, dict[str, float]]] = {}
    if not quick:
        for logical_id in HANDLERS:
            plan = plans[logical_id]
            breakdown[logical_id] = {}
            for variant in VARIANTS:
                _, stderr = _run_child(python, layers[variant], plan["task"], plan["payload"], True)
                breakdown[logical_id][variant] = importtime_breakdown(stderr)

    leaked = _count(bare, ".pyc") + _count(tasks, ".pyc")
    if leaked:
        raise RuntimeError(f"{leaked} .pyc files appeared in the no-.pyc tree: not a cold import")

    handlers: Json = {}
    for logical_id in HANDLERS:
        plan = plans[logical_id]
        entry: Json = {
            "bootstrap_factories": plan["factories"],
            "first_call_imports": plan["statements"],
            "libraries_at_init": facts[logical_id]["at_init"],
            "libraries_after_first_call": facts[logical_id]["after_first_call"],
            "modules_loaded": facts[logical_id]["modules"],
        }
        for variant in VARIANTS:
            entry[variant] = {k: stats(v, 4) for k, v in samples[logical_id][variant].items()}
        with_total = entry["with_pyc"]["total_s"]["median"]
        without_total = entry["without_pyc"]["total_s"]["median"]
        entry["ratio_without_over_with"] = ratio(without_total, with_total)
        entry["saved_by_pyc_s"] = round(without_total - with_total, 3)
        if logical_id in breakdown:
            entry["importtime_self_ms"] = breakdown[logical_id]
        handlers[logical_id] = entry

    return {
        "parameters": {"repetitions": reps, "handlers": list(HANDLERS)},
        "interpreter": {"path": python, "version": version, "fallback_to_runner": fallback},
        "method": (
            "fresh interpreter per run; layer = pip --target --no-compile tree + ecmpush; "
            "without_pyc: no __pycache__ anywhere in the layer and PYTHONDONTWRITEBYTECODE=1 "
            "(stdlib .pyc kept, as in the Lambda runtime); with_pyc: the same tree after "
            "compileall --invalidation-mode unchecked-hash (layers/shared/Makefile). "
            "total = init (import app) + first-call lazy imports; clients = first boto3 "
            "clients, not counted in total. importtime_self_ms: one -X importtime run per "
            "variant, self time per library group (inflated by -X importtime itself)."
        ),
        "layer": layer_info,
        "handlers": handlers,
    }


def headline(result: Json) -> list[Row]:
    rows: list[Row] = [("interpreter", f"python {result['interpreter']['version']}")]
    for logical_id, entry in result["handlers"].items():
        with_pyc = entry["with_pyc"]["total_s"]["median"]
        without = entry["without_pyc"]["total_s"]["median"]
        rows.append(
            (
                f"{logical_id} imports",
                f"{with_pyc * 1000:.0f} ms with .pyc, {without * 1000:.0f} ms without "
                f"(x{entry['ratio_without_over_with']})",
            )
        )
    return rows


SPEC = Spec(NAME, "import cost of each handler's module graph, with vs without .pyc", run, headline)
