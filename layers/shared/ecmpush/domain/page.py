"""One page of a paged read, and where the next one starts.

The cursor is opaque text: services hand it back unread, so no DynamoDB key shape leaks past
the adapter that made it, and an API can pass it to a client and take it back without the
client learning (or forging) a key. Only the store that handed a cursor out can read it."""

from __future__ import annotations

from dataclasses import dataclass


class InvalidCursor(ValueError):
    """A cursor the store did not hand out, or handed out for another reader."""


@dataclass(frozen=True)
class Page[T]:
    items: tuple[T, ...]
    cursor: str | None = None  # pass back for the next page; None when this was the last

    @property
    def last(self) -> bool:
        return self.cursor is None
