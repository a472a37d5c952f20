"""A real local stack in a subprocess (`python -m devstack run`), reached only over HTTP and the
devstack CLI, as a person following the README would."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.conftest import REPO_ROOT


def stack_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "ECMPUSH_"))}
    env.update({f"ECMPUSH_{name}_PORT": "0" for name in ("API", "MOTO", "FCM", "ECM")})
    return env


def devstack(state_dir: Path, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own CLI
        [sys.executable, "-m", "devstack", "--state-dir", str(state_dir), *args],
        cwd=REPO_ROOT,
        env=stack_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@dataclass(frozen=True)
class RunningStack:
    state_dir: Path
    urls: dict[str, str]

    @property
    def api(self) -> str:
        return self.urls["api"]

    def fcm_messages(self, token: str | None = None) -> list[dict[str, Any]]:
        """The FCM stand-in's record of the messages sent (to `token`, or to anyone): each
        request with FCM's answer."""
        params = {"token": token} if token is not None else {}
        response = requests.get(f"{self.urls['fcm']}/_inspect/messages", params=params, timeout=10)
        response.raise_for_status()
        return list(response.json()["messages"])

    def token(self, user: str, *extra: str) -> str:
        result = devstack(self.state_dir, "token", user, *extra)
        assert result.returncode == 0, result.stderr
        return result.stdout.strip()


@contextmanager
def started_stack(
    state_dir: Path,
    *run_args: str,
    serving: Callable[[Path], bool] | None = None,
    start_s: float = 90,
) -> Iterator[RunningStack]:
    """`python -m devstack run <run_args>` in a subprocess, logging to stack.log, once it
    serves (`serving(state_dir)`; by default: once stack.json is written); stopped with SIGTERM
    on leaving."""
    log = (state_dir / "stack.log").open("w")
    process = subprocess.Popen(  # noqa: S603 - our own CLI
        [sys.executable, "-m", "devstack", "--state-dir", str(state_dir), "run", *run_args],
        cwd=REPO_ROOT,
        env=stack_env(),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    is_serving = serving or (lambda state: (state / "stack.json").exists())
    deadline = time.monotonic() + start_s
    while not is_serving(state_dir):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            log.close()
            pytest.fail("local stack did not start:\n" + (state_dir / "stack.log").read_text())
        time.sleep(0.2)
    urls = json.loads((state_dir / "stack.json").read_text())["urls"]
    try:
        yield RunningStack(state_dir, urls)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=60)  # a poller may be mid-invocation on a loaded machine
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        finally:
            log.close()


@pytest.fixture(scope="session")
def running_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    with started_stack(tmp_path_factory.mktemp("stack"), "--no-demo") as stack:
        yield stack
