"""Slicing work into the sizes the services downstream accept (DynamoDB's 25/100, FCM's 500,
a delivery batch's recipients). `itertools.batched` would do, but it needs Python 3.12."""

from __future__ import annotations

from collections.abc import Iterator, Sequence


def chunks[T](values: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    """Consecutive slices of at most `size` values, in order."""
    if size < 1:
        raise ValueError("size must be positive")
    for start in range(0, len(values), size):
        yield values[start : start + size]
