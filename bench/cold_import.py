"""cold_import: what each of the nine functions pays at cold start to import its code, measured
on the real `sam build` artifact (`.aws-sam/build/`), against bare `import boto3` from the same
layer in the same run.

What is measured, per function and per run, in a fresh python3.13 (one subprocess per sample):

- init: `import app` from `.aws-sam/build/<Function>/` with the built layer on the path (Lambda's
  init phase: the handler module and everything it imports at module level);
- first call: the imports the first invocation adds, i.e. the lazy imports of the
  `ecmpush.bootstrap` factories the handler reaches (found with `ast` in the built code; see
  `lazy_imports`), executed as the same `from X import Y` statements;
- baseline: `import boto3` alone, from the same layer tree, interleaved with the functions so
  drift on a noisy machine hits both. Ratios are medians over medians.

The layer runs here as built: the artifact's `SharedLayer/python` tree with its `.pyc` files
(`layers/shared/Makefile` byte-compiles it), copied, and only the distributions whose wheels are
platform specific (pydantic-core, cryptography, ...) replaced by the same versions' wheels for
this host (the artifact's are arm64), then byte-compiled the same way. The function directory is
copied without `__pycache__` and PYTHONDONTWRITEBYTECODE=1 is set: Lambda's disk is read-only,
so `app.py` is compiled on every cold start there too.

Tracing: the build's functions are measured with the environment each tracing mode of
template.yaml gives them (`ECMPUSH_TRACING`); `lambda` is the template default (Lambda records
the segments, no SDK in the function), `sdk` is Powertools Tracer with the X-Ray SDK.

`ECMPUSH_BENCH_BUILD` points at another build than this checkout's;
`ECMPUSH_BENCH_BEFORE=/path/to/other/.aws-sam/build` adds a second build (e.g. main before a
change) to the same run, measured the same way, for a before/after table."""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from bench._common import REPO, Json, Row, Spec, ratio, stats

NAME = "cold_import"
BUILD = REPO / ".aws-sam" / "build"
FUNCTIONS = (
    "WebhookIntakeFunction",
    "DevicesFunction",
    "DispatchFunction",
    "ResponseCallbackFunction",
    "WriteBackFunction",
    "ExpirySweepFunction",
    "SlaSweepFunction",
    "DevicePruneFunction",
    "WebhookSecretRotationFunction",
)
# Targets of issue 11: init (`import app`) over bare `import boto3`.
TARGETS = dict.fromkeys(FUNCTIONS, 1.3) | {"DispatchFunction": 2.0, "DevicesFunction": 2.0}
TRACING_MODES = ("lambda", "sdk")
WORK_ROOT = Path(tempfile.gettempdir()) / "ecmpush-bench"
# Libraries whose presence after init / after the first call the result lists.
TRACKED = (
    "pydantic",
    "aws_xray_sdk",
    "aws_lambda_powertools.event_handler",
    "aws_lambda_powertools.utilities.batch",
    "aws_lambda_powertools.utilities.idempotency",
    "aws_lambda_powertools.utilities.parameters",
    "ecmpush.app_api",
    "firebase_admin",
    "grpc",
    "google.cloud",
    "requests",
)

# Runs in the measured interpreter. argv[1]: JSON [module or null, lazy statements, tracked].
_CHILD = r"""
import importlib, json, sys, time
module, lazy, tracked = json.loads(sys.argv[1])
t0 = time.perf_counter()
importlib.import_module(module or "boto3")
t1 = time.perf_counter()
at_init = [m for m in tracked if m in sys.modules]
for statement in lazy:
    exec(statement, {})
t2 = time.perf_counter()
print(json.dumps({"init_s": t1 - t0, "first_call_s": t2 - t1, "modules": len(sys.modules),
                  "at_init": at_init,
                  "after_first_call": [m for m in tracked if m in sys.modules]}))
"""


# -- what each handler's first call imports ----------------------------------------------------


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


# -- the built layer, runnable on this host ----------------------------------------------------


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


def find_python313() -> tuple[str, str]:
    """(interpreter, version): $ECMPUSH_BENCH_PYTHON, python3.13 on PATH, or pyenv's newest
    3.13 (as layers/shared/Makefile looks for it). The layer's .pyc are 3.13's: no fallback."""
    candidates: list[str] = []
    if os.environ.get("ECMPUSH_BENCH_PYTHON"):
        candidates.append(os.environ["ECMPUSH_BENCH_PYTHON"])
    if which := shutil.which("python3.13"):
        candidates.append(which)
    if pyenv := shutil.which("pyenv"):
        try:
            root = _capture([pyenv, "root"], 30).stdout.strip()
            latest = _capture([pyenv, "latest", "3.13"], 30).stdout.strip()
            candidates.append(f"{root}/versions/{latest}/bin/python3.13")
        except (OSError, subprocess.SubprocessError):
            pass
    for candidate in candidates:
        version = _python_version(candidate)
        if version and version.startswith("3.13."):
            return candidate, version
    raise RuntimeError("python3.13 not found: set ECMPUSH_BENCH_PYTHON or PYENV_VERSION")


def _platform_wheels(tree: Path) -> dict[str, list[Path]]:
    """`name==version` → installed files, for every distribution whose wheel is not pure."""
    found: dict[str, list[Path]] = {}
    for dist in sorted(tree.glob("*.dist-info")):
        tags = [ln for ln in (dist / "WHEEL").read_text().splitlines() if ln.startswith("Tag:")]
        if all(tag.endswith("-none-any") for tag in tags):
            continue
        meta = dict(
            line.split(": ", 1)
            for line in (dist / "METADATA").read_text().splitlines()
            if line.startswith(("Name: ", "Version: "))
        )
        record = (dist / "RECORD").read_text().splitlines()
        files = [tree / ln.split(",")[0] for ln in record if ln and not ln.startswith("..")]
        found[f"{meta['Name']}=={meta['Version']}"] = files
    return found


def host_layer(build: Path, label: str, python: str) -> tuple[Path, Json]:
    """A copy of `build/SharedLayer/python` whose platform-specific wheels are this host's."""
    source = build / "SharedLayer" / "python"
    if not source.is_dir():
        raise RuntimeError(f"{source} is missing: run `make build` first")
    tree, overlay = WORK_ROOT / f"layer-{label}", WORK_ROOT / f"overlay-{label}"
    for scratch in (tree, overlay):
        shutil.rmtree(scratch, ignore_errors=True)
    shutil.copytree(source, tree, symlinks=True)
    native = _platform_wheels(tree)
    for files in native.values():
        for file in files:
            file.unlink(missing_ok=True)
    if native:
        done = _capture(
            [python, "-m", "pip", "install", "--quiet", "--no-deps", "--only-binary=:all:",
             "--no-compile", "--disable-pip-version-check", "--no-input", "--target",
             str(overlay), *native],
            900,
            check=False,
        )  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(f"pip install of the host wheels failed:\n{done.stderr[-3000:]}")
        shutil.rmtree(overlay / "bin", ignore_errors=True)
        _capture(
            [python, "-m", "compileall", "-q", "-j", "0", "--invalidation-mode",
             "unchecked-hash", "-s", str(overlay), "-p", str(tree), str(overlay)],
            600,
        )  # fmt: skip
        shutil.copytree(overlay, tree, symlinks=True, dirs_exist_ok=True)
    return tree, {
        "artifact": str(source),
        "unzipped_mb": round(_size(source) / 2**20, 1),
        "host_wheels": sorted(native),
        "distributions": sorted(
            d.name.removesuffix(".dist-info") for d in source.glob("*.dist-info")
        ),
    }


def _size(tree: Path) -> int:
    return sum(p.stat().st_size for p in tree.rglob("*") if p.is_file() and not p.is_symlink())


# -- measuring ---------------------------------------------------------------------------------


def _child_env(layer: Path, task: Path | None, function: str, tracing: str) -> dict[str, str]:
    """What Lambda's python3.13 runtime and template.yaml's Globals give a function."""
    path = f"{task}{os.pathsep}{layer}" if task else str(layer)
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": path,
        "PYTHONDONTWRITEBYTECODE": "1",
        "LANG": "C.UTF-8",
        "AWS_DEFAULT_REGION": "eu-central-1",
        "AWS_REGION": "eu-central-1",
        "AWS_LAMBDA_FUNCTION_NAME": function,
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13",
        "POWERTOOLS_SERVICE_NAME": "ecmpush",
        "POWERTOOLS_METRICS_NAMESPACE": "Ecmpush",
        "ECMPUSH_TRACING": tracing,
    }


def _run_child(python: str, env: dict[str, str], payload: str) -> Json:
    done = _capture([python, "-s", "-c", _CHILD, payload], 120, env=env, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"import child failed ({done.returncode}):\n{done.stderr[-3000:]}")
    measured: Json = json.loads(done.stdout.strip().splitlines()[-1])
    return measured


def _builds() -> dict[str, Path]:
    builds = {"after": Path(os.environ.get("ECMPUSH_BENCH_BUILD") or BUILD)}
    if before := os.environ.get("ECMPUSH_BENCH_BEFORE"):
        builds = {"before": Path(before), **builds}
    return builds


def run(quick: bool) -> Json:
    reps = 1 if quick else 7
    python, version = find_python313()
    builds = _builds()
    layers: dict[str, Path] = {}
    layer_info: dict[str, Json] = {}
    for label, build in builds.items():
        layers[label], layer_info[label] = host_layer(build, label, python)

    # (build, tracing) cases: a "before" build is measured as it was (its own tracing).
    cases = [("before", "lambda")] if "before" in builds else []
    cases += [("after", mode) for mode in TRACING_MODES]
    plans: dict[tuple[str, str], Json] = {}
    for label, build in builds.items():
        for function in FUNCTIONS:
            source = build / function / "app.py"
            task = WORK_ROOT / f"task-{label}" / function
            shutil.rmtree(task, ignore_errors=True)
            task.mkdir(parents=True)
            shutil.copy2(source, task / "app.py")
            factories, statements = lazy_imports(source.read_text(), layers[label])
            plans[(label, function)] = {
                "task": task,
                "payload": json.dumps(["app", statements, list(TRACKED)]),
                "factories": factories,
            }

    keys = ["baseline"] + [f"{function}" for function in FUNCTIONS]
    samples: dict[str, dict[str, dict[str, list[float]]]] = {}
    facts: dict[str, dict[str, Json]] = {}
    baseline_payload = json.dumps([None, [], []])
    for rep in range(reps):
        for label, mode in cases if rep % 2 == 0 else list(reversed(cases)):
            case = f"{label}/tracing={mode}"
            bucket = samples.setdefault(case, {})
            for key in keys:
                function = key if key != "baseline" else "boto3"
                if key == "baseline":
                    env = _child_env(layers[label], None, function, mode)
                    measured = _run_child(python, env, baseline_payload)
                else:
                    plan = plans[(label, key)]
                    env = _child_env(layers[label], plan["task"], function, mode)
                    measured = _run_child(python, env, plan["payload"])
                    facts.setdefault(case, {})[key] = measured
                series = bucket.setdefault(key, {"init_s": [], "first_call_s": [], "total_s": []})
                series["init_s"].append(measured["init_s"])
                series["first_call_s"].append(measured["first_call_s"])
                series["total_s"].append(measured["init_s"] + measured["first_call_s"])

    leaked = sum(1 for _ in WORK_ROOT.glob("task-*/*/__pycache__"))
    if leaked:
        raise RuntimeError("app.py was byte-compiled to disk: not a cold import")

    results: Json = {}
    for case, bucket in samples.items():
        label = case.split("/")[0]
        boto3_s = stats(bucket["baseline"]["init_s"], 4)
        entries: Json = {}
        for function in FUNCTIONS:
            series = bucket[function]
            init, total = stats(series["init_s"], 4), stats(series["total_s"], 4)
            fact = facts[case][function]
            entries[function] = {
                "init_s": init,
                "first_call_s": stats(series["first_call_s"], 4),
                "total_s": total,
                "init_over_boto3": ratio(init["median"], boto3_s["median"]),
                "total_over_boto3": ratio(total["median"], boto3_s["median"]),
                "target_init_over_boto3": TARGETS[function],
                "bootstrap_factories": plans[(label, function)]["factories"],
                "libraries_at_init": fact["at_init"],
                "libraries_after_first_call": fact["after_first_call"],
                "modules_loaded": fact["modules"],
            }
        results[case] = {"boto3_s": boto3_s, "functions": entries}

    return {
        "parameters": {"repetitions": reps, "functions": list(FUNCTIONS)},
        "interpreter": {"path": python, "version": version},
        "builds": {label: str(path) for label, path in builds.items()},
        "method": (
            "fresh python3.13 per sample; the sam build artifact's layer (its .pyc kept, "
            "platform wheels swapped for this host's and compiled the same way) and function "
            "dir; init = import app; first call = the bootstrap factories' lazy imports; "
            "baseline = import boto3 from the same layer, interleaved; medians."
        ),
        "layers": layer_info,
        "cases": results,
    }


def headline(result: Json) -> list[Row]:
    rows: list[Row] = [("interpreter", f"python {result['interpreter']['version']}")]
    for label, info in result["layers"].items():
        rows.append((f"layer {label}", f"{info['unzipped_mb']} MB unzipped"))
    for case, entry in result["cases"].items():
        rows.append((f"{case} import boto3", f"{entry['boto3_s']['median'] * 1000:.0f} ms"))
        for function, fn in entry["functions"].items():
            rows.append(
                (
                    f"{case} {function}",
                    f"{fn['init_s']['median'] * 1000:.0f} ms init (x{fn['init_over_boto3']}), "
                    f"{fn['total_s']['median'] * 1000:.0f} ms with first call "
                    f"(x{fn['total_over_boto3']})",
                )
            )
    return rows


SPEC = Spec(NAME, "cold-start imports of the nine functions from .aws-sam/build", run, headline)


if __name__ == "__main__":  # pragma: no cover - `python -m bench cold_import` is the entry
    sys.exit("run it as: python -m bench cold_import")
