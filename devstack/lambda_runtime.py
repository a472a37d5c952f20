"""Loads the template's handlers in-process and invokes them like Lambda would: one invocation
at a time per function (a container), with a context that knows its remaining time, and killed
when it runs past the function's `Timeout`.

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


def _load_module(spec: FunctionSpec) -> ModuleType:
    module_file, _, _ = spec.handler.rpartition(".")
    path = spec.code_uri / f"{module_file.replace('.', '/')}.py"
    name = f"_fn_{spec.logical_id}"
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
    """A template function ready to invoke; calls are serialized like a single warm container.
    `timeout_s` overrides the template's Timeout (tests that need a killed invocation)."""

    def __init__(self, spec: FunctionSpec, *, timeout_s: float | None = None) -> None:
        self.spec = spec
        self.module = _load_module(spec)
        self._handler: Handler = getattr(self.module, spec.handler.rpartition(".")[2])
        self._lock = threading.Lock()
        self.timeout_s = float(spec.timeout) if timeout_s is None else timeout_s

    def invoke(self, event: dict[str, Any]) -> Any:
        with self._lock:
            context = LambdaContext(self.spec.logical_id, self.spec.timeout)
            context._deadline = time.monotonic() + self.timeout_s
            outcome: dict[str, Any] = {}

            def run() -> None:
                try:
                    outcome["result"] = self._handler(event, context)
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
