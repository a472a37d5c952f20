"""fanout: one `document.available` to 1,000 and 10,000 devices on a local stack (moto server and
the FCM stand-in in processes of their own), today's Dispatch against the design before delivery
batches (commit `BEFORE`) in the same run: pushes per second, DynamoDB calls per push, client
CPU per push, peak RSS, and exactly-once (distinct tokens = messages).

Why an earlier commit, not a flag: the old design is the code as it was (one SQS record sent
whole, three DynamoDB calls per device), checked out with `git archive` into a temporary tree;
each measurement runs in a fresh process (bench/_fanout_child.py) with that tree first on its
path. Both run one container: invocations one after another, so "pushes/s" is per invocation
stream, the figure MaximumConcurrency multiplies (docs/deploy.md).

The old design cannot finish 10,000 devices inside Dispatch's 30 s Timeout (the invocation is
killed and the record retried, the failure issue 10 describes); to measure its rate at all it
runs with the timeout lifted (`timeout_s`), and its 10,000-device run is skipped unless asked
for (`FANOUT_BEFORE_10K=1`): at ~33 pushes/s it alone takes five minutes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import Any

from bench._common import REPO, Json, Row, Spec, ratio

NAME = "fanout"
BEFORE = "d7034e5"  # the last commit before delivery batches
SIZES = (1000, 10000)
CHILD = Path(__file__).resolve().parent / "_fanout_child.py"


def _tree_at(commit: str, into: Path) -> Path:
    archive = into / "tree.tar"
    with archive.open("wb") as out:
        subprocess.run(  # noqa: S603 - fixed git arguments
            ["git", "archive", commit, "layers/shared", "devstack", "functions", "template.yaml"],  # noqa: S607
            cwd=REPO,
            stdout=out,
            check=True,
        )
    tree = into / commit
    with tarfile.open(archive) as tar:
        tar.extractall(tree, filter="data")
    return tree


def measure(tree: Path, devices: int, timeout_s: float | None, **extra: Any) -> Json:
    """One run of bench/_fanout_child.py with `tree` first on the path."""
    env = {**os.environ, "PYTHONPATH": f"{tree / 'layers' / 'shared'}:{tree}"}
    params = {
        "tree": str(tree),
        "repo": str(REPO),
        "devices": devices,
        "timeout_s": timeout_s,
        "max_wait_s": 3600,
        **extra,
    }
    done = subprocess.run(  # noqa: S603 - our own script, JSON argument
        [sys.executable, str(CHILD), json.dumps(params)],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=3600,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith('{"devices"')]
    if done.returncode or not lines:
        raise RuntimeError(f"fan-out child failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return dict(json.loads(lines[-1]))


def run(quick: bool) -> Json:
    sizes = (50,) if quick else SIZES
    with tempfile.TemporaryDirectory(prefix="fanout-trees-") as scratch:
        before_tree = _tree_at(BEFORE, Path(scratch))
        runs: list[Json] = []
        for devices in sizes:
            runs.append({"design": "batches", **measure(REPO, devices, None)})
            if devices <= 1000 or os.environ.get("FANOUT_BEFORE_10K") == "1":
                runs.append({"design": "before", **measure(before_tree, devices, 3600)})
    by = {(r["design"], r["devices"]): r for r in runs}
    speedup = {
        str(n): ratio(by[("batches", n)]["pushes_per_s"], by[("before", n)]["pushes_per_s"])
        for n in sizes
        if ("before", n) in by
    }
    return {"before_commit": BEFORE, "runs": runs, "speedup_pushes_per_s": speedup}


def headline(result: Json) -> list[Row]:
    rows: list[Row] = []
    for r in result["runs"]:
        exact = (
            "exactly once"
            if r["messages"] == r["distinct_tokens"] == r["devices"]
            else (f"{r['messages']} messages, {r['distinct_tokens']} tokens")
        )
        rows.append(
            (
                f"{r['design']} {r['devices']} devices",
                f"{r['pushes_per_s']} pushes/s, {r['dynamodb_calls_per_push']} DDB calls/push, "
                f"{r['cpu_ms_per_push']} ms CPU/push, {r['peak_rss_mb']} MB, {exact}",
            )
        )
    for n, x in result["speedup_pushes_per_s"].items():
        rows.append((f"speed-up at {n} devices", f"{x}x"))
    return rows


SPEC = Spec(NAME, "one event to 1k/10k devices, batches vs before", run, headline)
