"""`python -m bench [name ...] [--quick]`: run benchmarks, write bench/results/<name>.json, print
a table of medians. Without a name every benchmark runs (a few minutes at most)."""

from __future__ import annotations

import argparse
import importlib
import sys
import time
import traceback

from bench._common import Spec, execute, print_table

# name → module defining SPEC; imported on demand so one benchmark's imports don't load another's.
BENCHMARKS = {
    "cold_import": "bench.cold_import",
    "dispatch_throughput": "bench.dispatch_throughput",
    "fanout": "bench.fanout",
    "group_fanout": "bench.group_fanout",
    "receipts_writes": "bench.receipts_writes",
    "render_fit": "bench.render_fit",
    "send_async": "bench.send_async",
    "shape": "bench.shape",
    "transient_retry": "bench.transient_retry",
    "webhook_intake": "bench.webhook_intake",
    "withdrawal": "bench.withdrawal",
}


def _spec(name: str) -> Spec:
    spec: Spec = importlib.import_module(BENCHMARKS[name]).SPEC
    return spec


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("names", nargs="*", metavar="name", help=", ".join(BENCHMARKS))
    parser.add_argument(
        "--quick", action="store_true", help="smoke run: tiny sizes, one repetition, no files"
    )
    args = parser.parse_args(argv)
    unknown = [n for n in args.names if n not in BENCHMARKS]
    if unknown:
        parser.error(
            f"unknown benchmark(s) {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}"
        )
    names = args.names or list(BENCHMARKS)
    rows: list[tuple[str, str, str]] = []
    failed: list[str] = []
    started = time.monotonic()
    for name in names:
        spec = _spec(name)
        print(f"[bench] {name}: {spec.summary} ...", file=sys.stderr, flush=True)
        try:
            result = execute(spec, quick=args.quick)
        except Exception:  # one broken benchmark must not hide the others' results
            traceback.print_exc()
            failed.append(name)
            rows.append((name, "FAILED", "see the traceback above"))
            continue
        print(f"[bench] {name}: done in {result['duration_s']} s", file=sys.stderr, flush=True)
        rows.extend((name, case, value) for case, value in spec.headline(result))
    print()
    print_table(rows)
    where = "not written (--quick)" if args.quick else "bench/results/<name>.json"
    print(f"\n{len(names)} benchmark(s) in {time.monotonic() - started:.0f} s; results {where}")
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
