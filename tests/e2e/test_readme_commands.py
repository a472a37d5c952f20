"""The README's "Try it by hand" works as written on a fresh `make run` (issue 24): the stack
starts as `make run` starts it, demo included, and the shell blocks marked `<!-- verbatim -->`
run in bash, in order, from the repository root. Only what a test cannot share with a person
at the same machine is replaced: the default ports (the test's stack takes free ones) and the
state directory (`--state-dir`, the test's own)."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT
from tests.e2e.conftest import RunningStack, stack_env

pytestmark = pytest.mark.e2e

README = REPO_ROOT / "README.md"
VERBATIM = re.compile(r"^<!-- verbatim -->\n```bash\n(.*?)^```$", re.MULTILINE | re.DOTALL)
DEFAULT_PORTS = {"api": "localhost:3000", "fcm": "localhost:9099", "ecm": "localhost:8181"}
DEVSTACK = ".venv/bin/python -m devstack"


def verbatim_blocks(text: str) -> list[str]:
    return VERBATIM.findall(text)


def for_this_stack(script: str, stack: RunningStack) -> str:
    """The script with the default ports and state directory replaced by the test stack's."""
    for name, default in DEFAULT_PORTS.items():
        script = script.replace(default, stack.urls[name].removeprefix("http://"))
    return script.replace(DEVSTACK, f"{sys.executable} -m devstack --state-dir {stack.state_dir}")


@pytest.fixture(scope="module")
def fresh_make_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    """`python -m devstack run` with the demo, as `make run` starts it, once it serves."""
    state_dir = tmp_path_factory.mktemp("make-run")
    log_path = state_dir / "stack.log"
    log = log_path.open("w")
    process = subprocess.Popen(  # noqa: S603 - our own CLI
        [sys.executable, "-m", "devstack", "--state-dir", str(state_dir), "run"],
        cwd=REPO_ROOT,
        env=stack_env(),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 180
    while "Serving until Ctrl-C." not in log_path.read_text():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail("make run's stack did not start:\n" + log_path.read_text())
        time.sleep(0.5)
    urls = json.loads((state_dir / "stack.json").read_text())["urls"]
    yield RunningStack(state_dir, urls)
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)
    finally:
        log.close()


def test_readme_marks_the_walk_through_and_uses_the_defaults() -> None:
    """What is replaced is really in the blocks; nothing else is."""
    blocks = verbatim_blocks(README.read_text())
    assert blocks, "README.md has no <!-- verbatim --> block"
    script = "\n".join(blocks)
    assert all(default in script for default in DEFAULT_PORTS.values())
    assert DEVSTACK in script
    assert "--state-dir" not in script


def test_readme_commands_work_verbatim_on_a_fresh_make_run(
    fresh_make_run: RunningStack, tmp_path: Path
) -> None:
    banner = (fresh_make_run.state_dir / "stack.log").read_text()
    assert "Demo passed." in banner
    assert "sign in as bjones" in banner  # the README's browser walk-through names the same user
    assert "sign in as `bjones`" in README.read_text()

    script = for_this_stack("\n".join(verbatim_blocks(README.read_text())), fresh_make_run)
    result = subprocess.run(  # noqa: S603 - the README's own commands
        ["bash", "-euo", "pipefail", "-c", script],  # noqa: S607 - bash from PATH, as a reader's
        cwd=REPO_ROOT,
        env=stack_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert '"platform":"android"' in result.stdout  # the device was registered
    assert '202 {"id":"evt-by-hand-0001","status":"accepted"}' in result.stdout
    assert '"status":"applied"' in result.stdout  # the reply reached Content Server at once
    task = result.stdout.strip().splitlines()[-1]
    assert '"status": "completed"' in task or '"status":"completed"' in task, task
    assert "cwu" in task
