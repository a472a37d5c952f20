"""Expiry warnings for records (contracts, licences, certificates). Pure: the same records at
the same moment always yield the same notifications, ids included.
Why: docs/design/expiry-warnings.md."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Final

from pydantic import BaseModel, ConfigDict

TYPE: Final = "expiry.warning"
CATEGORY: Final = "expiry"
EXPIRED: Final = "expired"  # the final stage's label; windows are labelled by their days
MAX_WINDOW_DAYS: Final = 9999  # the template's AllowedPattern allows four digits
MAX_WINDOWS: Final = 20
MAX_LISTED: Final = 5  # names a digest lists before "+N"
DEFAULT_FINAL_NOTICE_MAX_AGE: Final = timedelta(days=30)
KINDS: Final = ("contract", "licence", "certificate", "policy", "retention")
ROLES: Final = ("legal", "account_manager", "records_manager")

# English nouns per kind (singular for a single push, plural for a digest); the renderer's
# catalog has no per-kind lookup yet, so these travel as template parameters.
ANY_KIND: Final = "any"  # a digest of mixed kinds; the words live in the message catalog


class ExpiryConfigError(ValueError):
    """The windows or search configuration is invalid; the message names what is wrong."""


# -- time ----------------------------------------------------------------------------------------


def utc_day(moment: datetime) -> date:
    return moment.astimezone(UTC).date()


def _day_start(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


# -- policy --------------------------------------------------------------------------------------


def parse_windows(raw: str) -> tuple[int, ...]:
    """`"90,30,7,1,0"` → (90, 30, 7, 1, 0): whole days before the expiry date, loosest first;
    duplicates collapse. Empty or anything else than comma-separated whole days is refused."""
    parts = [part.strip() for part in raw.split(",")]
    if not raw.strip() or any(not part.isdigit() for part in parts):
        raise ExpiryConfigError(f"expiry windows must be comma-separated whole days, got {raw!r}")
    days = sorted({int(part) for part in parts}, reverse=True)
    if days[0] > MAX_WINDOW_DAYS:
        raise ExpiryConfigError(f"expiry windows must be at most {MAX_WINDOW_DAYS} days")
    if len(days) > MAX_WINDOWS:
        raise ExpiryConfigError(f"at most {MAX_WINDOWS} expiry windows")
    return tuple(days)


def _tightness(stage: str) -> int | None:
    """Days before the expiry day (smaller is tighter); the expired stage is -1."""
    if stage == EXPIRED:
        return -1
    return int(stage) if stage.isdigit() else None


@dataclass(frozen=True)
class ExpiryPolicy:
    windows: tuple[int, ...] = (90, 30, 7, 1, 0)
    final_notice_max_age: timedelta = DEFAULT_FINAL_NOTICE_MAX_AGE

    @classmethod
    def from_config(cls, windows: str) -> ExpiryPolicy:
        return cls(parse_windows(windows))

    @property
    def stages(self) -> tuple[str, ...]:
        """Loosest first, the expired notice last."""
        return (*(str(days) for days in self.windows), EXPIRED)

    def notice_at(self, expires_at: datetime, stage: str) -> datetime:
        expiry_day = _day_start(utc_day(expires_at))
        if stage == EXPIRED:
            return expiry_day + timedelta(days=1)
        return expiry_day - timedelta(days=int(stage))


# -- records -------------------------------------------------------------------------------------


class TrackedRecord(BaseModel):
    """A record as RecordsTable keeps it (pk `record_key` = node id)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    record_key: str
    node_id: str
    name: str
    kind: str
    expires_at: datetime
    url: str | None = None
    owners: tuple[str, ...] = ()
    notify_roles: tuple[str, ...] = ()
    source: str = "webhook"
    windows_sent: frozenset[str] = frozenset()
    windows_passed: frozenset[str] = frozenset()
    next_notice_at: datetime | None = None


@dataclass(frozen=True)
class Decision:
    """What a sweep does with one record now.

    `stage` is the stage to record (None: nothing is due, only `next_notice_at` may need
    moving); `notify` says whether that stage is announced or only recorded as passed;
    `passed` are the looser stages crossed at the same time, recorded without a notice;
    `next_notice_at` is when the record is due again (None: never, it leaves the index)."""

    stage: str | None
    notify: bool
    passed: tuple[str, ...]
    next_notice_at: datetime | None
    days_left: int


def decide(record: TrackedRecord, policy: ExpiryPolicy, now: datetime) -> Decision:
    """The stage a record is due for at `now`.

    A sweep that ran late (or a record registered late) may find several stages crossed since
    the last notice: only the tightest one is announced, and the looser ones are recorded as
    passed without a push, so nobody gets "90 days", "30 days" and "7 days" in one morning.
    A stage looser than one already done never comes back (e.g. a window added to the
    configuration after a tighter one was sent)."""
    done = [
        t for t in map(_tightness, record.windows_sent | record.windows_passed) if t is not None
    ]
    tightest_done = min(done, default=None)
    open_stages = [
        stage
        for stage in policy.stages
        if tightest_done is None or int(_tightness(stage) or 0) < tightest_done
    ]
    crossed = [s for s in open_stages if policy.notice_at(record.expires_at, s) <= now]
    days_left = (utc_day(record.expires_at) - utc_day(now)).days
    if not crossed:
        upcoming = open_stages[0] if open_stages else None
        next_at = policy.notice_at(record.expires_at, upcoming) if upcoming else None
        return Decision(None, False, (), next_at, days_left)
    stage = crossed[-1]
    later = open_stages[open_stages.index(stage) + 1 :]
    next_at = policy.notice_at(record.expires_at, later[0]) if later else None
    notify = True
    if stage == EXPIRED:
        notify = now - policy.notice_at(record.expires_at, EXPIRED) <= policy.final_notice_max_age
    return Decision(stage, notify, tuple(crossed[:-1]), next_at, days_left)
