"""One cached instance per warm container for every factory decorated with `component`, one
`reset()` that forgets them all (tests and the local stack, after changing the environment),
and `override()`, which hands out a given object instead while it is active (tests: fakes at
the edges, without patching classes). Factories live in the composition root (bootstrap/)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import _lru_cache_wrapper, lru_cache, wraps
from typing import Any, cast

_registry: dict[str, _lru_cache_wrapper[Any]] = {}
_overrides: dict[str, object] = {}


def component[T](factory: Callable[[], T]) -> _lru_cache_wrapper[T]:
    cached = lru_cache(maxsize=1)(factory)
    name = factory.__name__
    if name in _registry:
        raise ValueError(f"two components are called {name!r}")
    _registry[name] = cached

    @wraps(factory)
    def get() -> T:
        if name in _overrides:
            return cast(T, _overrides[name])
        return cached()

    # Keeps lru_cache's interface (cache_info, cache_clear) for the callers that use it.
    get.cache_info = cached.cache_info  # type: ignore[attr-defined]
    get.cache_clear = cached.cache_clear  # type: ignore[attr-defined]
    return cast("_lru_cache_wrapper[T]", get)


@contextmanager
def override(**components: object) -> Iterator[None]:
    """Within the block, the named components are these objects (`override(ecm_client=fake)`)."""
    unknown = sorted(set(components) - set(_registry))
    if unknown:
        raise KeyError(f"no such components: {unknown}")
    saved = {name: _overrides[name] for name in components if name in _overrides}
    _overrides.update(components)
    try:
        yield
    finally:
        for name in components:
            _overrides.pop(name, None)
        _overrides.update(saved)


def reset_components() -> None:
    for cached in _registry.values():
        cached.cache_clear()
