"""The local Lambda runtime enforces a function's Timeout the way Lambda does: the invocation is
killed at the deadline, even inside `except Exception`, and nothing after that point runs."""

from __future__ import annotations

import textwrap
import time
from pathlib import Path

import pytest

from devstack.lambda_runtime import InvocationTimedOut, LocalFunction
from devstack.template import FunctionSpec

HANDLER = textwrap.dedent(
    """
    import time

    steps = []

    def lambda_handler(event, context):
        steps.append(("start", context.get_remaining_time_in_millis()))
        for i in range(event.get("loops", 1)):
            try:
                time.sleep(event.get("sleep", 0))
            except Exception:  # a handler that swallows errors cannot swallow the kill
                steps.append("swallowed")
            steps.append(i)
        if event.get("fail"):
            raise ValueError("handler failed")
        return {"done": len(steps)}
    """
)


def _function(tmp_path: Path, name: str, timeout_s: float | None = None) -> LocalFunction:
    (tmp_path / f"{name}.py").write_text(HANDLER)
    spec = FunctionSpec(name, tmp_path, f"{name}.lambda_handler", timeout=3, environment={})
    return LocalFunction(spec, timeout_s=timeout_s)


def test_an_invocation_in_time_returns_its_result(tmp_path: Path) -> None:
    function = _function(tmp_path, "fn_in_time")
    assert function.invoke({"loops": 2}) == {"done": 3}
    start = function.module.steps[0]
    assert 2_000 < start[1] <= 3_000  # the template's Timeout, as the context tells it


def test_an_invocation_past_its_timeout_is_killed_and_stops(tmp_path: Path) -> None:
    function = _function(tmp_path, "fn_killed", timeout_s=0.3)
    started = time.monotonic()
    with pytest.raises(InvocationTimedOut, match=r"timed out after 0\.30 seconds"):
        function.invoke({"loops": 50, "sleep": 0.05})
    assert time.monotonic() - started < 2
    steps = list(function.module.steps)
    time.sleep(0.3)
    assert function.module.steps == steps  # nothing ran after the kill
    assert "swallowed" not in steps
    assert len(steps) < 12


def test_handler_errors_reach_the_caller(tmp_path: Path) -> None:
    function = _function(tmp_path, "fn_fails")
    with pytest.raises(ValueError, match="handler failed"):
        function.invoke({"fail": True})
