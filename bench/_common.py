"""What every benchmark shares: statistics, machine description, result files, the table."""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
RESULTS_DIR = REPO / "bench" / "results"
LAYER_DIR = REPO / "layers" / "shared"

Json = dict[str, Any]
Row = tuple[str, str]


@dataclass(frozen=True)
class Spec:
    """One benchmark: `run(quick)` measures and returns the result body; `headline(result)`
    picks the few rows `python -m bench` prints."""

    name: str
    summary: str
    run: Callable[[bool], Json]
    headline: Callable[[Json], list[Row]]


def stats(values: Sequence[float], digits: int = 6) -> Json:
    """Median (the figure we report), min and max of repeated measurements."""
    if not values:
        raise ValueError("no measurements")
    return {
        "median": round(statistics.median(values), digits),
        "min": round(min(values), digits),
        "max": round(max(values), digits),
        "n": len(values),
    }


def ratio(numerator: float, denominator: float, digits: int = 2) -> float:
    return round(numerator / denominator, digits) if denominator else float("nan")


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith(("model name", "cpu model")):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory_total_mb() -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) // 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def machine() -> Json:
    """The facts a reader needs to compare these numbers with another run."""
    try:
        load: list[float] | None = [round(x, 2) for x in os.getloadavg()]
    except OSError:
        load = None
    return {
        "nproc": len(os.sched_getaffinity(0))
        if hasattr(os, "sched_getaffinity")
        else os.cpu_count(),
        "cpu": _cpu_model(),
        "memory_mb": _memory_total_mb(),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "loadavg_at_start": load,
    }


def source_state() -> Json:
    """The commit measured, and which product paths differed from it (other engineers share
    this working tree, so a result may include their uncommitted edits: it says so)."""
    import subprocess

    def git(*args: str) -> str:
        done = subprocess.run(  # noqa: S603 - fixed git arguments
            ["git", *args],  # noqa: S607 - git from PATH, as developers run it
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        return done.stdout.rstrip("\n") if done.returncode == 0 else ""

    paths = ("layers", "functions", "devstack", "template.yaml", "requirements")
    dirty = git("status", "--porcelain", "--", *paths).splitlines()
    return {"commit": git("rev-parse", "--short", "HEAD") or None, "uncommitted": dirty}


def execute(spec: Spec, quick: bool = False) -> Json:
    """Run one benchmark and wrap its body with when, where and how it ran; full runs are
    written to bench/results/<name>.json (quick runs are smoke checks and write nothing)."""
    started = time.monotonic()
    when = dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    info = machine()
    body = spec.run(quick)
    doc: Json = {
        "name": spec.name,
        "summary": spec.summary,
        "command": f".venv/bin/python -m bench {spec.name}" + (" --quick" if quick else ""),
        "date": when,
        "machine": info,
        "source": source_state(),
        "quick": quick,
        "duration_s": round(time.monotonic() - started, 1),
        **body,
    }
    if not quick:
        RESULTS_DIR.mkdir(parents=True, exist_ok=True)
        path = RESULTS_DIR / f"{spec.name}.json"
        path.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    return doc


def print_table(rows: Sequence[tuple[str, str, str]], out: Any = None) -> None:
    """A plain three-column table: benchmark, case, median."""
    stream = out or sys.stdout
    header = ("benchmark", "case", "median")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(3)]
    line = "  ".join("-" * w for w in widths)
    print("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)), file=stream)
    print(line, file=stream)
    previous = ""
    for name, case, value in rows:
        shown = name if name != previous else ""
        previous = name
        cells = (shown.ljust(widths[0]), case.ljust(widths[1]), value.rjust(widths[2]))
        print("  ".join(cells), file=stream)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


def us(seconds: float) -> str:
    return f"{seconds * 1e6:.1f} µs"


def run_child(module: str, params: Json, timeout_s: int = 1800) -> Json:
    """`python -m <module> <params as JSON>` from the repo, with the layer on the path: a
    measurement that sets the AWS environment runs in a process of its own; its last JSON
    line is the answer."""
    env = {**os.environ, "PYTHONPATH": f"{REPO / 'layers' / 'shared'}:{REPO}"}
    done = subprocess.run(  # noqa: S603 - our own module, JSON argument
        [sys.executable, "-m", module, json.dumps(params)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=timeout_s,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode or not lines:
        raise RuntimeError(f"{module} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    result: Json = json.loads(lines[-1])
    return result
