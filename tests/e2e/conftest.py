"""A real local stack in a subprocess (`python -m devstack run`), reached only over HTTP and the
devstack CLI, as a person following the README would."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

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

    def token(self, user: str, *extra: str) -> str:
        result = devstack(self.state_dir, "token", user, *extra)
        assert result.returncode == 0, result.stderr
        return result.stdout.strip()


@pytest.fixture(scope="session")
def running_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    state_dir = tmp_path_factory.mktemp("stack")
    log = (state_dir / "stack.log").open("w")
    process = subprocess.Popen(  # noqa: S603 - our own CLI
        [sys.executable, "-m", "devstack", "--state-dir", str(state_dir), "run", "--no-demo"],
        cwd=REPO_ROOT,
        env=stack_env(),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    state_file = state_dir / "stack.json"
    deadline = time.monotonic() + 90
    while not state_file.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail("local stack did not start:\n" + (state_dir / "stack.log").read_text())
        time.sleep(0.2)
    urls = json.loads(state_file.read_text())["urls"]
    yield RunningStack(state_dir, urls)
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=60)  # a poller may be mid-invocation on a loaded machine
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)
    finally:
        log.close()
