"""cold_import: what each of the nine functions pays at cold start to import its code, measured
on the real `sam build` artifact (`.aws-sam/build/`), against bare `import boto3` from the same
layer in the same run.

What is measured, per function and per run, in a fresh python3.13 (one subprocess per sample):

- init: `import app` from `.aws-sam/build/<Function>/` with the built layers the function is
  attached to on the path, in the template's order (Lambda's init phase: the handler module and
  everything it imports at module level);
- first call: the imports the first invocation adds, i.e. the lazy imports of the
  `ecmpush.bootstrap` factories the handler reaches (found with `ast` in the built code by
  layer_check.first_call_imports, the same statements the layer build checks), executed as the
  same `from X import Y` statements;
- baseline: `import boto3` alone, from the same layer tree, interleaved with the functions so
  drift on a noisy machine hits both. Ratios are medians over medians.

The layers run here as built: each artifact `<Name>Layer/python` tree (SharedLayer, and
FirebaseLayer where the build has it) with its `.pyc` files (`layers/shared/layer.mk`
byte-compiles them), copied, and only the distributions whose wheels are platform specific
(pydantic-core, cryptography, ...) replaced by the same versions' wheels for this host (the
artifact's are arm64), then byte-compiled the same way. So the copy has exactly the AWS service
models the build kept (layers/shared/aws-services.txt; botocore is pure Python and never
swapped), listed per layer as `aws_services`. Which layers a function gets is read
from the build's own template.yaml (Globals' `Layers`, then the function's). The function
directory is copied without `__pycache__` and PYTHONDONTWRITEBYTECODE=1 is set: Lambda's disk
is read-only, so `app.py` is compiled on every cold start there too.

Tracing: the build's functions are measured with the environment each tracing mode of
template.yaml gives them (`ECMPUSH_TRACING`); `lambda` is the template default (Lambda records
the segments, no SDK in the function), `sdk` is Powertools Tracer with the X-Ray SDK.

`ECMPUSH_BENCH_BUILD` points at another build than this checkout's;
`ECMPUSH_BENCH_BEFORE=/path/to/other/.aws-sam/build` adds a second build (e.g. main before a
change) to the same run, measured the same way, for a before/after table."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml
from aws_services import shipped_services
from layer_check import first_call_imports

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
    "ecmpush.entrypoints.app_api",
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


def host_layer(source: Path, scratch: str, python: str) -> tuple[Path, Json]:
    """A copy of one built layer tree (`<build>/<Name>Layer/python`) whose platform-specific
    wheels are this host's."""
    tree, overlay = WORK_ROOT / f"layer-{scratch}", WORK_ROOT / f"overlay-{scratch}"
    for directory in (tree, overlay):
        shutil.rmtree(directory, ignore_errors=True)
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
        # The copy keeps the build's pruning (botocore is pure Python: never swapped above).
        "aws_services": shipped_services(tree) if (tree / "botocore").is_dir() else [],
        "distributions": sorted(
            d.name.removesuffix(".dist-info") for d in source.glob("*.dist-info")
        ),
    }


def host_layers(build: Path, label: str, python: str) -> tuple[dict[str, Path], dict[str, Json]]:
    """Every layer of a build ({logical id: host tree}, {logical id: facts})."""
    if not (build / "SharedLayer" / "python").is_dir():
        raise RuntimeError(f"{build}/SharedLayer/python is missing: run `make build` first")
    trees: dict[str, Path] = {}
    info: dict[str, Json] = {}
    for source in sorted(build.glob("*Layer/python")):
        name = source.parent.name
        trees[name], info[name] = host_layer(source, f"{label}-{name}", python)
    return trees, info


def attached_layers(build: Path, layers: list[str]) -> dict[str, list[str]]:
    """{function: its layers in /opt order} from the build's template.yaml (sam build writes
    plain YAML there: `Ref:` mappings, no tags)."""
    template = yaml.safe_load((build / "template.yaml").read_text())
    shared = [ref["Ref"] for ref in template["Globals"]["Function"].get("Layers", [])]
    found: dict[str, list[str]] = {}
    for function in FUNCTIONS:
        own = template["Resources"][function]["Properties"].get("Layers", [])
        found[function] = [*shared, *(ref["Ref"] for ref in own)]
        missing = [name for name in found[function] if name not in layers]
        if missing:
            raise RuntimeError(f"{function}: layer(s) {missing} not in {build}")
    return found


def _size(tree: Path) -> int:
    return sum(p.stat().st_size for p in tree.rglob("*") if p.is_file() and not p.is_symlink())


# -- measuring ---------------------------------------------------------------------------------


def _child_env(
    layers: list[Path], task: Path | None, function: str, tracing: str
) -> dict[str, str]:
    """What Lambda's python3.13 runtime and template.yaml's Globals give a function."""
    path = os.pathsep.join(str(p) for p in (task, *layers) if p)
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
    layers: dict[str, dict[str, Path]] = {}
    layer_info: dict[str, dict[str, Json]] = {}
    attached: dict[str, dict[str, list[str]]] = {}
    for label, build in builds.items():
        layers[label], layer_info[label] = host_layers(build, label, python)
        attached[label] = attached_layers(build, list(layers[label]))

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
            shared = layers[label]["SharedLayer"]
            factories, statements = first_call_imports(source.read_text(), shared)
            names = attached[label][function]
            plans[(label, function)] = {
                "task": task,
                "layers": [layers[label][name] for name in names],
                "layer_names": names,
                "layers_unzipped_mb": round(
                    sum(layer_info[label][name]["unzipped_mb"] for name in names), 1
                ),
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
                    env = _child_env([layers[label]["SharedLayer"]], None, function, mode)
                    measured = _run_child(python, env, baseline_payload)
                else:
                    plan = plans[(label, key)]
                    env = _child_env(plan["layers"], plan["task"], function, mode)
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
                "layers": plans[(label, function)]["layer_names"],
                "layers_unzipped_mb": plans[(label, function)]["layers_unzipped_mb"],
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
            "fresh python3.13 per sample; the sam build artifact's layers attached to the "
            "function (their .pyc kept, platform wheels swapped for this host's and compiled "
            "the same way) and function dir; init = import app; first call = the bootstrap "
            "factories' lazy imports; baseline = import boto3 from the same build's "
            "SharedLayer, interleaved; medians."
        ),
        "layers": layer_info,
        "cases": results,
    }


def headline(result: Json) -> list[Row]:
    rows: list[Row] = [("interpreter", f"python {result['interpreter']['version']}")]
    for label, info in result["layers"].items():
        for name, layer in info.items():
            rows.append((f"{label} {name}", f"{layer['unzipped_mb']} MiB unzipped"))
    for case, entry in result["cases"].items():
        rows.append((f"{case} import boto3", f"{entry['boto3_s']['median'] * 1000:.0f} ms"))
        for function, fn in entry["functions"].items():
            rows.append(
                (
                    f"{case} {function}",
                    f"{fn['init_s']['median'] * 1000:.0f} ms init (x{fn['init_over_boto3']}), "
                    f"{fn['total_s']['median'] * 1000:.0f} ms with first call "
                    f"(x{fn['total_over_boto3']}), layers {fn['layers_unzipped_mb']} MiB",
                )
            )
    return rows


SPEC = Spec(NAME, "cold-start imports of the nine functions from .aws-sam/build", run, headline)


if __name__ == "__main__":  # pragma: no cover - `python -m bench cold_import` is the entry
    sys.exit("run it as: python -m bench cold_import")
