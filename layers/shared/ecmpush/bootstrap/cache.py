"""One object per warm container for each builder called without arguments; a call with
settings or overrides (tests) builds afresh. `forget_all` drops them (tests, SnapStart)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from ecmpush.settings import Settings, settings

_forgetters: list[Callable[[], None]] = []


def cached[T](build: Callable[..., T]) -> Callable[..., T]:
    """`build(config, **overrides)`, kept for the container when called as `builder()`."""
    return cached_closing(None)(build)


def cached_closing[T](
    close: Callable[[], None] | None,
) -> Callable[[Callable[..., T]], Callable[..., T]]:
    """`cached`, calling `close()` when a kept object is forgotten (its threads, say)."""
    return lambda build: _cached(build, close)


def _cached[T](build: Callable[..., T], close: Callable[[], None] | None) -> Callable[..., T]:
    kept: list[T] = []

    @wraps(build)
    def builder(config: Settings | None = None, **overrides: Any) -> T:
        if config is not None or overrides:
            return build(config or settings(), **overrides)
        if not kept:
            kept.append(build(settings()))
        return kept[0]

    def forget() -> None:
        if kept and close is not None:
            close()
        kept.clear()

    _forgetters.append(forget)
    return builder


def forget_all() -> None:
    for forget in _forgetters:
        forget()


class Overrides:
    """The fakes a test hands a builder, by part name; a name no builder asks for is refused
    (a misspelt override would otherwise leave the real adapter in place, silently)."""

    def __init__(self, overrides: dict[str, Any], *names: str) -> None:
        unknown = sorted(set(overrides) - set(names))
        if unknown:
            raise TypeError(f"no such parts: {unknown}")
        self._given = dict(overrides)

    def __call__[T](self, name: str, build: Callable[[], T]) -> T:
        if name in self._given:
            part: T = self._given[name]
            return part
        return build()
