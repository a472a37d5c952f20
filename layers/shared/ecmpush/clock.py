"""The one place that reads the wall clock, so services take time as a parameter."""

from __future__ import annotations

from datetime import UTC, datetime


def utc_now() -> datetime:
    return datetime.now(UTC)


def rfc3339(moment: datetime) -> str:
    """`2026-11-28T10:00:00Z`: the contract's time format (an aware UTC datetime in)."""
    return moment.isoformat().replace("+00:00", "Z")
