"""Loads the template's handlers in-process and invokes them like Lambda would: concurrently,
up to the function's concurrency (`ReservedConcurrentExecutions`, or its SQS event sources'
`MaximumConcurrency`, else 10: `devstack/template.py`), one invocation at a time per execution
environment, with a context that knows its remaining time, and killed when it runs past the
function's `Timeout`. Invocations beyond the concurrency wait for a free environment (Lambda
would throttle them).

An execution environment is a copy of the handler module, loaded when every existing one is
busy: module state (the API resolver's current event, a batch processor's results) is per
environment, as on Lambda. The shared layer (`ecmpush`: settings, bootstrap's components, boto3
clients) is imported once per process and shared by the environments, which Lambda never does:
those must be safe to use from several threads. Powertools' resolvers keep the current request
in class attributes, which devstack/powertools_threads.py makes per thread. `module` is the
first environment's, the only one sequential callers ever use (tests patch it).

The kill: the handler runs on a worker thread; at the deadline the runtime raises
`InvocationKilled` inside that thread (`PyThreadState_SetAsyncExc`), which stops it at its next
Python instruction, whatever `except Exception` blocks it is in (it is a BaseException). A
request already on the wire completes, as it would when Lambda freezes a container after the
bytes left; nothing after it runs. The caller gets `InvocationTimedOut`, as the event source
mapping does: an SQS batch then returns to the queue after its visibility timeout."""

from __future__ import annotations

import ctypes
import importlib.util
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from devstack.powertools_threads import keep_resolver_state_per_thread
from devstack.template import FunctionSpec

Handler = Callable[[dict[str, Any], Any], Any]
KILL_GRACE_S = 5.0  # how long a killed invocation may take to stop before the runtime gives up


class InvocationKilled(BaseException):
    """Raised inside a handler's thread when its invocation runs out of time."""


class InvocationTimedOut(Exception):
    """The invocation ran past the function's Timeout and was killed (Lambda's "Task timed
    out after N seconds")."""


@dataclass
class LambdaContext:
    function_name: str
    timeout_seconds: int
    memory_limit_in_mb: int = 512
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_version: str = "$LATEST"
    log_group_name: str = "/aws/lambda/local"
    log_stream_name: str = "local"
    _deadline: float = field(default=0.0)

    def __post_init__(self) -> None:
        self.invoked_function_arn = (
            f"arn:aws:lambda:us-east-1:123456789012:function:{self.function_name}"
        )
        self._deadline = time.monotonic() + self.timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(int((self._deadline - time.monotonic()) * 1000), 0)


def _load_module(spec: FunctionSpec, environment: int = 0) -> ModuleType:
    """The handler module of execution environment number `environment` (0: the first)."""
    module_file, _, _ = spec.handler.rpartition(".")
    path = spec.code_uri / f"{module_file.replace('.', '/')}.py"
    name = f"_fn_{spec.logical_id}" + (f"_{environment}" if environment else "")
    if name in sys.modules:
        return sys.modules[name]
    module_spec = importlib.util.spec_from_file_location(name, path)
    if module_spec is None or module_spec.loader is None:
        raise ImportError(f"cannot load handler of {spec.logical_id} from {path}")
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[name] = module
    module_spec.loader.exec_module(module)
    return module


def _kill(thread: threading.Thread) -> None:
    ident = thread.ident
    if ident is not None:
        ctypes.pythonapi.PyThreadState_SetAsyncExc(
            ctypes.c_ulong(ident), ctypes.py_object(InvocationKilled)
        )


class LocalFunction:
    """A template function ready to invoke, from any number of threads: at most `concurrency`
    invocations run at once, each in an execution environment of its own (module doc).
    `timeout_s` overrides the template's Timeout (tests that need a killed invocation)."""

    def __init__(
        self,
        spec: FunctionSpec,
        *,
        timeout_s: float | None = None,
        concurrency: int | None = None,
    ) -> None:
        keep_resolver_state_per_thread()  # before any handler module builds a resolver
        self.spec = spec
        self.module = _load_module(spec)
        self.timeout_s = float(spec.timeout) if timeout_s is None else timeout_s
        self.concurrency = spec.concurrency if concurrency is None else concurrency
        if self.concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self._idle: list[tuple[int, ModuleType]] = [(0, self.module)]
        self._environments = 1
        self._free = threading.Condition()
        self.most_at_once = 0  # the highest number of invocations that ran together
        self._running = 0

    def _acquire(self) -> tuple[int, ModuleType]:
        """An idle environment (the lowest numbered: sequential calls always get the first), a
        new one while fewer than `concurrency` exist, else wait for one to be released."""
        with self._free:
            while not self._idle and self._environments >= self.concurrency:
                self._free.wait()
            self._running += 1
            self.most_at_once = max(self.most_at_once, self._running)
            if self._idle:
                self._idle.sort(key=lambda pair: pair[0])
                return self._idle.pop(0)
            number = self._environments
            self._environments += 1
        try:
            return number, _load_module(self.spec, number)
        except BaseException:
            with self._free:
                self._environments -= 1
                self._running -= 1
                self._free.notify()
            raise

    def _release(self, environment: tuple[int, ModuleType]) -> None:
        with self._free:
            self._idle.append(environment)
            self._running -= 1
            self._free.notify()

    def invoke(self, event: dict[str, Any]) -> Any:
        environment = self._acquire()
        try:
            return self._invoke(environment[1], event)
        finally:
            self._release(environment)

    def _invoke(self, module: ModuleType, event: dict[str, Any]) -> Any:
        handler: Handler = getattr(module, self.spec.handler.rpartition(".")[2])
        context = LambdaContext(self.spec.logical_id, self.spec.timeout)
        context._deadline = time.monotonic() + self.timeout_s
        outcome: dict[str, Any] = {}

        def run() -> None:
            try:
                outcome["result"] = handler(event, context)
            except InvocationKilled:
                outcome["killed"] = True
            except BaseException as exc:  # handed to the caller, as Lambda reports it
                outcome["error"] = exc

        worker = threading.Thread(target=run, name=f"invoke-{self.spec.logical_id}")
        worker.start()
        worker.join(self.timeout_s)
        if worker.is_alive():
            _kill(worker)
            worker.join(KILL_GRACE_S)
            raise InvocationTimedOut(
                f"{self.spec.logical_id}: task timed out after {self.timeout_s:.2f} seconds"
            )
        if "error" in outcome:
            raise outcome["error"]
        return outcome.get("result")
