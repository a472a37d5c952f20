"""Finding 10 of issue 9: `python -m devstack run` stops on SIGTERM, even on signals arriving
back to back, because nothing in the signal path takes a lock (a self-pipe wakes the loop)."""

from __future__ import annotations

import signal
import subprocess
import sys

SCRIPT = (
    "import time; from devstack.__main__ import _wait_for_stop_signal; "
    "_wait_for_stop_signal(lambda: print('waiting', flush=True)); print('stopped', flush=True); "
    "time.sleep(0.5)"  # the shutdown that follows: later signals must not interrupt it
)


def test_repeated_sigterm_stops_the_wait_and_exits_cleanly() -> None:
    process = subprocess.Popen(  # noqa: S603 - our own code
        [sys.executable, "-c", SCRIPT], stdout=subprocess.PIPE, text=True, cwd="."
    )
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "waiting"
    for _ in range(5):  # back to back, as a supervisor and a user pressing Ctrl-C might
        process.send_signal(signal.SIGTERM)
    out, _ = process.communicate(timeout=20)
    assert process.returncode == 0
    assert out.strip() == "stopped"
