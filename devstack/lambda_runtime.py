"""Loads the template's handlers in-process and invokes them like Lambda would: one invocation
at a time per function (a container), with a context that knows its remaining time."""

from __future__ import annotations

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


class LocalFunction:
    """A template function ready to invoke; calls are serialized like a single warm container."""

    def __init__(self, spec: FunctionSpec) -> None:
        self.spec = spec
        self.module = _load_module(spec)
        self._handler: Handler = getattr(self.module, spec.handler.rpartition(".")[2])
        self._lock = threading.Lock()

    def invoke(self, event: dict[str, Any]) -> Any:
        with self._lock:
            context = LambdaContext(self.spec.logical_id, self.spec.timeout)
            return self._handler(event, context)
