"""Runs the template's EventBridge Scheduler schedules locally: `rate(...)` and `cron(...)`
expressions in their time zone, each invocation carrying `{"now": <scheduled time>}` as the
template's Input does. Also the manual trigger behind `python -m devstack sweep`."""

from __future__ import annotations

import logging
import re
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from devstack.lambda_runtime import LocalFunction

log = logging.getLogger("devstack.schedules")

_RATE = re.compile(r"rate\((\d+)\s+(minute|minutes|hour|hours|day|days)\)")
_UNITS = {"minute": 60, "hour": 3600, "day": 86400}
_DAYS = {"SUN": 1, "MON": 2, "TUE": 3, "WED": 4, "THU": 5, "FRI": 6, "SAT": 7}
_MONTHS = {
    m: i
    for i, m in enumerate(
        ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"], 1
    )
}


def _field(text: str, low: int, high: int, names: dict[str, int] | None = None) -> set[int] | None:
    """One AWS cron field as the set of values it allows; None for `*` and `?` (any)."""
    if text in ("*", "?"):
        return None
    values: set[int] = set()
    for part in text.split(","):
        step = 1
        if "/" in part:
            part, step_text = part.split("/")
            step = int(step_text)
        if part in ("*", ""):
            start, end = low, high
        elif "-" in part:
            a, b = part.split("-")
            start, end = _value(a, names), _value(b, names)
        else:
            start = _value(part, names)
            end = high if step > 1 else start
        values.update(range(start, end + 1, step))
    return values


def _value(text: str, names: dict[str, int] | None) -> int:
    return names[text.upper()] if names and text.upper() in names else int(text)


@dataclass(frozen=True)
class Cron:
    """AWS cron: minutes hours day-of-month month day-of-week year (L, W and # not supported)."""

    minutes: set[int] | None
    hours: set[int] | None
    days: set[int] | None
    months: set[int] | None
    weekdays: set[int] | None  # 1 = Sunday, as AWS counts

    @classmethod
    def parse(cls, body: str) -> Cron:
        parts = body.split()
        if len(parts) != 6:
            raise ValueError(f"cron needs 6 fields: {body!r}")
        return cls(
            _field(parts[0], 0, 59),
            _field(parts[1], 0, 23),
            _field(parts[2], 1, 31),
            _field(parts[3], 1, 12, _MONTHS),
            _field(parts[4], 1, 7, _DAYS),
        )

    def matches(self, moment: datetime) -> bool:
        weekday = moment.isoweekday() % 7 + 1
        return all(
            allowed is None or value in allowed
            for allowed, value in (
                (self.minutes, moment.minute),
                (self.hours, moment.hour),
                (self.days, moment.day),
                (self.months, moment.month),
                (self.weekdays, weekday),
            )
        )


def next_fire(expression: str, after: datetime, zone: str = "UTC") -> datetime:
    """The first scheduled time strictly after `after` (aware), in UTC."""
    rate = _RATE.fullmatch(expression.strip())
    if rate:
        unit = rate.group(2).rstrip("s")
        return after + timedelta(seconds=int(rate.group(1)) * _UNITS[unit])
    if expression.startswith("cron(") and expression.endswith(")"):
        cron = Cron.parse(expression[5:-1])
        local = after.astimezone(ZoneInfo(zone)).replace(second=0, microsecond=0)
        for _ in range(366 * 24 * 60):
            local += timedelta(minutes=1)
            if cron.matches(local):
                return local.astimezone(UTC)
        raise ValueError(f"{expression} never fires within a year")
    raise ValueError(f"unsupported schedule expression {expression!r}")


# Each scheduled function's last run {"at", "result"}, for `python -m devstack status`.
LAST_RUNS: dict[str, dict[str, Any]] = {}


def invoke_scheduled(function: LocalFunction, now: datetime) -> Any:
    at = now.isoformat().replace("+00:00", "Z")
    result = function.invoke({"now": at})
    LAST_RUNS[function.spec.logical_id] = {"at": at, "result": result}
    return result


class LocalScheduler:
    """One thread firing every schedule of every function at its next time, until stopped."""

    def __init__(self, jobs: list[tuple[LocalFunction, str, str]]) -> None:
        self._jobs = jobs  # (function, expression, time zone)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="schedules", daemon=True)

    def start(self) -> LocalScheduler:
        if self._jobs:
            self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)

    def _run(self) -> None:
        now = datetime.now(UTC)
        due = [next_fire(expr, now, zone) for _, expr, zone in self._jobs]
        while not self._stop.is_set():
            index = min(range(len(due)), key=due.__getitem__)
            wait = (due[index] - datetime.now(UTC)).total_seconds()
            if self._stop.wait(max(wait, 0)):
                return
            function, expression, zone = self._jobs[index]
            try:
                invoke_scheduled(function, due[index])
            except Exception:
                log.exception("scheduled invocation of %s failed", function.spec.logical_id)
            due[index] = next_fire(expression, due[index], zone)
