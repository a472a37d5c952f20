"""Powertools' REST resolvers keep the request being handled in class attributes of
`BaseRouter` (`BaseRouter.current_event = ...` in `resolve`, read back as
`app.current_event`): one per process. On Lambda a process handles one request at a time, so
that is one per request. The local runtime runs a function's invocations concurrently in one
process (devstack/lambda_runtime.py), where two requests would read each other's body and
headers: a registration was stored with another caller's FCM token. This keeps both attributes
per thread (each invocation runs on its own thread), so the local stack is as isolated as
Lambda's execution environments. Applied by the local runtime; deployed code is unchanged."""

from __future__ import annotations

import threading
from abc import ABCMeta
from typing import Any

from aws_lambda_powertools.event_handler.api_gateway import BaseRouter

PER_THREAD = ("current_event", "lambda_context")
_state = threading.local()


class _PerThread:
    """A data descriptor for `BaseRouter` instances (`app.current_event`) and, through the
    metaclass below, for the class itself (`BaseRouter.current_event = ...`)."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __get__(self, instance: Any, owner: Any = None) -> Any:
        try:
            return getattr(_state, self._name)
        except AttributeError:
            raise AttributeError(self._name) from None

    def __set__(self, instance: Any, value: Any) -> None:
        setattr(_state, self._name, value)


class _PerThreadRouterMeta(ABCMeta):
    current_event = _PerThread("current_event")
    lambda_context = _PerThread("lambda_context")


_lock = threading.Lock()


def keep_resolver_state_per_thread() -> None:
    """Idempotent."""
    with _lock:
        if type(BaseRouter) is _PerThreadRouterMeta:
            return
        if type(BaseRouter) is not ABCMeta:
            raise RuntimeError(f"Powertools' BaseRouter has metaclass {type(BaseRouter)!r}")
        for name in PER_THREAD:
            # A request resolved before (a test calling a handler directly) left its event
            # here; it is over, and each thread now starts without one.
            setattr(BaseRouter, name, _PerThread(name))
        setattr(BaseRouter, "__class__", _PerThreadRouterMeta)  # noqa: B010 - mypy reads `=` as a method
