"""One object per warm container for each builder called without arguments; a call with
settings or overrides (tests) builds afresh and is not kept. `forget_all` drops what is kept
(tests, SnapStart)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import wraps
from typing import Any

_forgetters: list[Callable[[], None]] = []


def cached[**P, T](build: Callable[P, T]) -> Callable[P, T]:
    """`build`, its result kept for the container when called bare."""
    return cached_closing(None)(build)


def cached_closing[**P, T](
    close: Callable[[], None] | None,
) -> Callable[[Callable[P, T]], Callable[P, T]]:
    """`cached`, calling `close()` when a kept object is forgotten (its threads, say)."""

    def decorate(build: Callable[P, T]) -> Callable[P, T]:
        kept: list[T] = []

        @wraps(build)
        def builder(*args: P.args, **kwargs: P.kwargs) -> T:
            if args or kwargs:
                return build(*args, **kwargs)
            if not kept:
                kept.append(build(*args, **kwargs))
            return kept[0]

        def forget() -> None:
            if kept and close is not None:
                close()
            kept.clear()

        _forgetters.append(forget)
        return builder

    return decorate


def forget_all() -> None:
    for forget in _forgetters:
        forget()


class Overrides:
    """The fakes a test hands a builder, by part name (the keys of the builder's `parts`
    TypedDict, which mypy checks the fakes against); a name the builder does not know is
    refused at run time too (a misspelt override would leave the real adapter in place)."""

    def __init__(self, overrides: Mapping[str, Any], parts: type[Mapping[str, Any]]) -> None:
        known: frozenset[str] = getattr(parts, "__optional_keys__", frozenset())
        unknown = sorted(set(overrides) - known)
        if unknown:
            raise TypeError(f"no such parts: {unknown}")
        self._given = dict(overrides)

    def __call__[T](self, name: str, build: Callable[[], T]) -> T:
        if name in self._given:
            part: T = self._given[name]
            return part
        return build()
