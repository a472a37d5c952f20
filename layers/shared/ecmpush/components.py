"""One cached instance per warm container for every factory decorated with `component`, and
one `reset()` that forgets them all (tests and the local stack, after changing the environment).
Factories live next to the code they wire (bootstrap.py, each sweep's wiring module)."""

from __future__ import annotations

from collections.abc import Callable
from functools import _lru_cache_wrapper, lru_cache
from typing import TypeVar

T = TypeVar("T")

_registry: list[_lru_cache_wrapper[object]] = []


def component(factory: Callable[[], T]) -> _lru_cache_wrapper[T]:
    cached = lru_cache(maxsize=1)(factory)
    _registry.append(cached)
    return cached


def reset_components() -> None:
    for cached in _registry:
        cached.cache_clear()
