"""A user's push preferences (contract §2): categories they muted and a quiet period in their
own time zone. What may never be muted (critical governance alerts, SLA escalations) is decided
where notifications are delivered, not here: a preference only states a wish."""

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

from ecmpush.domain.devices import TimeZoneName

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


class QuietHours(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    start: ClockTime
    end: ClockTime
    timezone: TimeZoneName

    @field_validator("end")
    @classmethod
    def _not_empty(cls, end: str, info: ValidationInfo) -> str:
        if info.data.get("start") == end:
            raise ValueError("quiet hours must not start and end at the same time")
        return end


class Preferences(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    muted_categories: Annotated[list[Category], Field(max_length=20)] = []
    quiet_hours: QuietHours | None = None


def _clock(text: str) -> time:
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


def quiet_until(preferences: Preferences, now: datetime) -> datetime | None:
    """When `now` falls in the quiet period, the moment it ends (aware, in UTC terms of `now`);
    otherwise None. Periods may cross midnight (22:00 to 07:00) and follow the user's zone, DST
    included."""
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
        ends = datetime.combine(ends_day, end, zone)
        if begins <= local < ends:
            return ends.astimezone(now.tzinfo)
    return None
