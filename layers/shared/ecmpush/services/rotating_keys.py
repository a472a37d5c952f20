"""Verifying with keys that rotate: the active keys as cached, and once more with keys read
fresh when none of the cached ones matched. A container may have cached the active set before a
rotation added a key the sender already signs with; one re-read (rate-limited by the secret
store) tells that apart from a forgery, and the forgery is refused either way."""

from __future__ import annotations

from collections.abc import Callable, Sequence

Keys = Sequence[bytes]


def verify_with_rotation[T](
    verify: Callable[[Keys], T],
    keys: Callable[[], Keys],
    refreshed: Callable[[], Keys | None],
    mismatch: type[Exception],
) -> T:
    """`verify(keys())`; on `mismatch`, `verify` again with `refreshed()` if it gives keys."""
    try:
        return verify(keys())
    except mismatch:
        fresh = refreshed()
        if not fresh:
            raise
        return verify(fresh)
