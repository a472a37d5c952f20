"""transient_retry: how long an approval push waits after FCM answers UNAVAILABLE, from FCM's
first transient answer to the push FCM accepts, on a local stack (bench/_retry_child.py: moto,
the FCM stand-in, the template's Dispatch handler and queue, devstack's SQS poller).

Cases (each a fresh `task.assigned` to one Android device):
- `blip`: two UNAVAILABLE answers, i.e. one receive's send and the SDK's one retry; the record
  goes back to the queue and the push goes out on the next receive.
- `two receives`: four UNAVAILABLE answers, two receives in a row fail.
- `retry-after 5`: one UNAVAILABLE with `Retry-After: 5` (not retried inside the SDK).
- `before`: `blip` as Dispatch handled it before domain/backoff.py: the record kept the
  queue's 180 s visibility timeout (one run: it takes three minutes).

The SQS poller long-polls for 1 s at a time, so a figure includes up to a second of polling
latency, as an event source mapping's would."""

from __future__ import annotations

from typing import Any

from bench._common import Json, Row, Spec, run_child, stats

NAME = "transient_retry"
CASES: list[tuple[str, dict[str, Any], int]] = [
    ("blip", {"answers": 2}, 5),
    ("two receives", {"answers": 4}, 3),
    ("retry-after 5", {"answers": 1, "retry_after": 5}, 3),
    ("before", {"answers": 2, "design": "before"}, 1),
]


def run(quick: bool) -> Json:
    plan = [(label, spec, 1 if quick else reps) for label, spec, reps in CASES]
    if quick:
        plan = [p for p in plan if p[0] == "blip"]
    cases = [{"case": label, **spec} for label, spec, reps in plan for _ in range(reps)]
    measured = run_child("bench._retry_child", {"cases": cases})
    by_case: dict[str, list[float]] = {}
    for entry in measured["runs"]:
        by_case.setdefault(entry["case"], []).append(entry["seconds_to_push"])
    return {
        "visibility_timeout_s": measured["visibility_timeout_s"],
        "seconds_to_push": {case: stats(values, 3) for case, values in by_case.items()},
        "runs": measured["runs"],
    }


def headline(result: Json) -> list[Row]:
    return [
        (case, f"{s['median']} s from the first UNAVAILABLE to the push (n={s['n']})")
        for case, s in result["seconds_to_push"].items()
    ]


SPEC = Spec(NAME, "time from a transient FCM answer to the push", run, headline)
