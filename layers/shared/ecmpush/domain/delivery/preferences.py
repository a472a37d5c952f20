"""A user's push preferences (contract §2): muted categories and quiet hours in their own time
zone. A preference states a wish; delivery decides what may not be muted.
Why: docs/design/preferences.md."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
)

from ecmpush.domain.delivery.devices import TimeZoneName

Category = Literal[
    "approval",
    "review",
    "task",
    "expiry",
    "sla",
    "field",
    "publication",
    "governance",
    "confirmation",
]
ClockTime = Annotated[str, StringConstraints(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")]
MAX_QUIET_HOURS = 12
MAX_QUIET = timedelta(hours=MAX_QUIET_HOURS)
# Validation context for preferences read back from storage: saved before the bound, kept.
STORED = {"stored": True}


class QuietHours(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    start: ClockTime
    end: ClockTime
    timezone: TimeZoneName

    @field_validator("end")
    @classmethod
    def _not_empty_nor_too_long(cls, end: str, info: ValidationInfo) -> str:
        start = info.data.get("start")
        if start == end:
            raise ValueError("quiet hours must not start and end at the same time")
        stored = bool(info.context and info.context.get("stored"))
        if start is not None and not stored and _wall_length(start, end) > MAX_QUIET:
            raise ValueError(
                f"quiet hours may last at most {MAX_QUIET_HOURS} hours "
                f"({start} to {end} is {_wall_length(start, end)})"
            )
        return end


class Preferences(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    muted_categories: Annotated[list[Category], Field(max_length=20)] = []
    quiet_hours: QuietHours | None = None


def _clock(text: str) -> time:
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


def _wall_length(start: str, end: str) -> timedelta:
    """How long the period is on the wall clock (across midnight when `end` is earlier)."""
    begins, ends = _clock(start), _clock(end)
    minutes = (ends.hour * 60 + ends.minute) - (begins.hour * 60 + begins.minute)
    return timedelta(minutes=minutes % (24 * 60))


def quiet_until(preferences: Preferences, now: datetime) -> datetime | None:
    """When `now` falls in the quiet period, the moment it ends (aware, in UTC terms of `now`);
    otherwise None. Periods may cross midnight (22:00 to 07:00) and follow the user's zone, DST
    included; none lasts longer than `MAX_QUIET` on the wall clock (a stored longer one is cut
    there; a DST change can add an hour)."""
    quiet = preferences.quiet_hours
    if quiet is None:
        return None
    zone = ZoneInfo(quiet.timezone)
    local = now.astimezone(zone)
    start, end = _clock(quiet.start), _clock(quiet.end)
    today = local.date()
    for day in (today - timedelta(days=1), today):
        begins = datetime.combine(day, start, zone)
        ends_day = day if end > start else day + timedelta(days=1)
        # Datetimes of one zone add and compare on the wall clock, as the bound is stated.
        ends = min(datetime.combine(ends_day, end, zone), begins + MAX_QUIET)
        if begins <= local < ends:
            return ends.astimezone(now.tzinfo)
    return None
