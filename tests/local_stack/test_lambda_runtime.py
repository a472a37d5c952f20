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


CONCURRENT = textwrap.dedent(
    """
    import threading

    def lambda_handler(event, context):
        event["barrier"].wait()  # every invocation of a group is inside the handler at once
        return __name__
    """
)


def test_invocations_run_concurrently_up_to_the_concurrency_each_in_its_own_environment(
    tmp_path: Path,
) -> None:
    """Issue 20, finding 12: Lambda runs a function's invocations at once, up to its reserved
    or maximum concurrency; a race the local runtime serialized was never seen locally."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    (tmp_path / "fn_parallel.py").write_text(CONCURRENT)
    spec = FunctionSpec(
        "fn_parallel", tmp_path, "fn_parallel.lambda_handler", timeout=3, environment={}
    )
    function = LocalFunction(spec, concurrency=3)
    barrier = threading.Barrier(3)  # passes only when three invocations run together
    with ThreadPoolExecutor(max_workers=6) as pool:
        names = list(pool.map(lambda _: function.invoke({"barrier": barrier}), range(6)))
    assert function.most_at_once == 3  # never more than the concurrency
    assert len(set(names)) == 3  # three execution environments, module state of their own
    assert function.invoke({"barrier": threading.Barrier(1)}) == function.module.__name__


def test_the_template_gives_each_function_its_concurrency() -> None:
    from devstack import template as cfn

    specs = cfn.functions(cfn.load())
    assert specs["DispatchFunction"].concurrency == 5  # DispatchMaxConcurrency's default
    assert specs["WriteBackFunction"].concurrency == 2  # WriteBackMaxConcurrency's default
    assert specs["DevicesFunction"].concurrency == cfn.DEFAULT_CONCURRENCY


def test_powertools_resolvers_keep_the_current_request_per_thread() -> None:
    """Powertools keeps the request in BaseRouter's class attributes (one per process, as on
    Lambda); with invocations on several threads each must see its own."""
    import threading

    from aws_lambda_powertools.event_handler.api_gateway import BaseRouter

    from devstack.powertools_threads import keep_resolver_state_per_thread

    BaseRouter.current_event = "a request resolved before"  # type: ignore[assignment]
    keep_resolver_state_per_thread()
    keep_resolver_state_per_thread()  # idempotent
    seen: dict[str, object] = {}
    ready = threading.Barrier(2)

    def request(name: str) -> None:
        BaseRouter.current_event = name  # type: ignore[assignment]  # what resolve() does
        ready.wait()
        seen[name] = BaseRouter.current_event

    threads = [threading.Thread(target=request, args=(n,)) for n in ("first", "second")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert seen == {"first": "first", "second": "second"}
