"""A 10,000-device team on a local stack of separate processes (moto server, the FCM stand-in
behind its keep-alive transport, Dispatch's own handler with the template's 30 s Timeout
enforced as Lambda enforces it): one `document.available` for ten teams of 1,000 reaches every
device exactly once, nothing is dead-lettered, and DynamoDB sees at most 0.2 calls per push.

The driver is the fan-out benchmark's (bench/_fanout_child.py), so what the benchmark measures
is what this test holds to; the test asserts outcomes, never speed: on a loaded machine an
invocation may run into its Timeout, and its records must then come back and finish the job
(how many did is the benchmark's figure, docs/benchmarks.md)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import REPO_ROOT

DEVICES = 10_000


@pytest.mark.timeout(900)  # about 2 minutes alone; longer beside the other tests on 2 cores
def test_a_ten_thousand_device_team_gets_one_push_each_and_nothing_is_lost() -> None:
    params = {"tree": str(REPO_ROOT), "repo": str(REPO_ROOT), "devices": DEVICES}
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "ECMPUSH_"))}
    env["PYTHONPATH"] = f"{REPO_ROOT / 'layers' / 'shared'}:{REPO_ROOT}"
    done = subprocess.run(  # noqa: S603 - our own driver, JSON argument
        [sys.executable, str(REPO_ROOT / "bench" / "_fanout_child.py"), json.dumps(params)],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith('{"devices"')]
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(lines[-1])
    assert result["messages"] == result["distinct_tokens"] == DEVICES  # exactly once
    assert result["dead_lettered"] == 0  # nothing given up on, whatever the machine's speed
    assert result["invocations"] >= 1 + DEVICES // 250 // 10  # the event, then the batches
    assert result["aws_calls"]["sqs.SendMessageBatch"] >= DEVICES // 250 // 10
    assert result["dynamodb_calls_per_push"] <= 0.2
