"""Expiry warnings for records (contracts, licences, certificates, ...). Pure: times come in as
arguments, so the same records at the same moment always yield the same notifications, ids
included.

Stages. A record with expiry date D (its `expires_at` as a UTC calendar day) passes, from the
loosest to the tightest:

| stage | due from (00:00 UTC) | single push | digest push |
|---|---|---|---|
| window w > 1 | D - w days | "Contract expires in 28 days: X" | "5 contracts expire within 30 days"
| window 1 | D - 1 day | "... expires tomorrow: X" | "... expire by tomorrow" |
| window 0 ("on the day") | D | "... expires today: X" | "... expire today" |
| `expired` (always, last) | D + 1 day | "... has expired: X" | "... have expired" |

A single push names the real number of days left (a late or late-registered record may be
closer than its window); a digest names the window.

Exactly once per record and stage: the record keeps, per `expires_at`, the stages it was warned
for (`windows_sent`) and the ones it went past silently (`windows_passed`); a new `expires_at`
(a renewal) clears both. The expired notice is the last: after it the record leaves the index.
An expiry that is already `final_notice_max_age` old when the sweep first sees it (an old
contract found by the search, a long-stopped sweep) gets no notice at all and just stops."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Final
from urllib.parse import quote

from pydantic import BaseModel, ConfigDict

from ecmpush.domain.events import Record
from ecmpush.domain.notifications import Notification, notification_id
from ecmpush.domain.reply_actions import INFO

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


def index_time(moment: datetime) -> str:
    """Sort key of the `notices_due` index: UTC, fixed width, whole seconds, so string order is
    time order."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def utc_day(moment: datetime) -> date:
    return moment.astimezone(UTC).date()


def _day_start(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def parse_ecm_date(value: object) -> datetime:
    """A Content Server date attribute: `2026-02-01T00:00:00` or `2026-02-01` (no zone → UTC),
    or a value with an offset."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str) and value.strip():
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError as exc:
            raise ValueError(f"not a date: {value!r}") from exc
    else:
        raise ValueError(f"not a date: {value!r}")
    if moment.tzinfo is None or moment.utcoffset() is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


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


# -- notifications -------------------------------------------------------------------------------


@dataclass(frozen=True)
class DueNotice:
    """One record announcing `stage` to its resolved recipients (owners and role members)."""

    record: TrackedRecord
    stage: str
    days_left: int
    recipients: tuple[str, ...]


def recipients_of(owners: Sequence[str], role_members: Sequence[str]) -> tuple[str, ...]:
    """Owners first, then role members, each once."""
    return tuple(dict.fromkeys(user for user in (*owners, *role_members) if user))


def record_link(base: str, record: TrackedRecord) -> str:
    """The record's own URL when ECM sent one, else the app's record page."""
    return record.url or f"{base}/records/{quote(record.node_id, safe='')}"


def digest_link(base: str, stage: str) -> str:
    return f"{base}/records?window={quote(stage, safe='')}"


def expiry_notification_id(recipient: str, stage: str, records: Sequence[TrackedRecord]) -> str:
    """Derived from what the push says: recipient, stage and each record with its expiry day.

    A retried or overlapping sweep that finds the same records due builds the same id, which
    Dispatch serves once per device. The id deliberately does not stop at (recipient, stage,
    day): two different pushes for one recipient and stage on the same day (records split over
    index pages, a run continued after its time budget, a record registered after the morning
    sweep) would share an id, and Dispatch would silently drop the second one after the
    records were marked, losing their warning."""
    items = sorted(f"{r.record_key}@{utc_day(r.expires_at).isoformat()}" for r in records)
    return notification_id(f"expiry|{recipient}|{stage}|{','.join(items)}", TYPE)


def _variant(stage: str, days: int) -> str:
    if stage == EXPIRED:
        return "expired"
    if days <= 0:
        return "today"
    return "tomorrow" if days == 1 else "days"


def _common_kind(records: Sequence[TrackedRecord]) -> str:
    kinds = {record.kind for record in records}
    return next(iter(kinds)) if len(kinds) == 1 else ANY_KIND


def _single(notice: DueNotice, recipient: str, base: str, now: datetime) -> Notification:
    record = notice.record
    days = max(notice.days_left, 0)
    return Notification(
        id=expiry_notification_id(recipient, notice.stage, [record]),
        type=TYPE,
        category=CATEGORY,
        source_id=f"expiry:{record.record_key}:{notice.stage}",
        recipients=[recipient],
        template=f"expiry.warning.single.{_variant(notice.stage, days)}",
        params={
            "kind": record.kind,
            "record_name": record.name,
            "days": str(days),
            "expires_on": utc_day(record.expires_at).isoformat(),
        },
        deep_link=record_link(base, record),
        apns_category=INFO.category,
        due_at=record.expires_at,
        created_at=now,
    )


def _digest(
    stage: str, notices: Sequence[DueNotice], recipient: str, base: str, now: datetime
) -> Notification:
    records = [n.record for n in notices]
    names = [r.name for r in records[:MAX_LISTED]]
    if len(records) > MAX_LISTED:
        names.append(f"+{len(records) - MAX_LISTED}")
    window = -1 if stage == EXPIRED else int(stage)
    return Notification(
        id=expiry_notification_id(recipient, stage, records),
        type=TYPE,
        category=CATEGORY,
        source_id=f"expiry:digest:{stage}",
        recipients=[recipient],
        template=f"expiry.warning.digest.{_variant(stage, window)}",
        params={
            "count": str(len(records)),
            "kinds": _common_kind(records),
            "days": str(max(window, 0)),
            "names": ", ".join(names),
        },
        deep_link=digest_link(base, stage),
        apns_category=INFO.category,
        created_at=now,
    )


def notifications_for(
    notices: Sequence[DueNotice], app_base_url: str, now: datetime
) -> list[Notification]:
    """One notification per (recipient, stage): the record itself when it is alone, else a
    digest listing the records (soonest expiry first, at most MAX_LISTED names, then "+N")."""
    groups: dict[tuple[str, str], list[DueNotice]] = {}
    for notice in notices:
        for recipient in notice.recipients:
            groups.setdefault((recipient, notice.stage), []).append(notice)
    result = []
    for (recipient, stage), members in groups.items():
        members.sort(key=lambda n: (n.record.expires_at, n.record.name, n.record.record_key))
        if len(members) == 1:
            result.append(_single(members[0], recipient, app_base_url, now))
        else:
            result.append(_digest(stage, members, recipient, app_base_url, now))
    return result


# -- Content Server search -----------------------------------------------------------------------

_SEARCH_KEYS: Final = {
    "where",
    "location_id",
    "date_attribute",
    "owner_attribute",
    "kind",
    "kind_attribute",
    "notify_roles",
    "page_size",
}


@dataclass(frozen=True)
class SearchConfig:
    """Where the sweep finds records itself (`ECMPUSH_EXPIRY_SEARCH`, JSON). Example:

    `{"where": "Attr_30100_2:contract and Attr_30100_3:<={horizon}", "location_id": "30200",
    "date_attribute": "30100_3", "owner_attribute": "30100_5", "kind": "contract",
    "notify_roles": ["legal"]}`

    `where` is LQL (`lookfor=complexquery`); `{today}` and `{horizon}` (today plus the loosest
    window) are replaced by YYYYMMDD dates, so the query can stay within the warning range.
    Attributes are `<category id>_<attribute id>` (an `Attr_` prefix is accepted). The owner
    attribute's values (one or a list) are ECM user ids; `kind_attribute`, when given, reads the
    kind per record (values other than the contract's kinds fall back to `kind`)."""

    where: str
    date_attribute: str
    owner_attribute: str | None = None
    location_ids: tuple[str, ...] = ()
    kind: str = "contract"
    kind_attribute: str | None = None
    notify_roles: tuple[str, ...] = ()
    page_size: int = 100

    def query(self, now: datetime, policy: ExpiryPolicy) -> str:
        today = utc_day(now)
        horizon = today + timedelta(days=policy.windows[0])
        return self.where.replace("{today}", today.strftime("%Y%m%d")).replace(
            "{horizon}", horizon.strftime("%Y%m%d")
        )

    @property
    def regions(self) -> tuple[str, ...]:
        """The search regions to ask for (`select`): Content Server answers only the user's
        default regions otherwise, and a hit without its category values cannot be read."""
        attributes = (self.date_attribute, self.owner_attribute, self.kind_attribute)
        return ("OTName", *(f"Attr_{a}" for a in attributes if a is not None))

    @property
    def fingerprint(self) -> str:
        """Identifies the search a stored resume page belongs to."""
        return json.dumps([self.where, self.location_ids, self.page_size])


def _attribute(value: object, path: str) -> str:
    text = value.strip() if isinstance(value, str) else ""
    text = text.removeprefix("Attr_")
    head, _, tail = text.partition("_")
    if not (head.isdigit() and tail.isdigit()):
        raise ExpiryConfigError(f"expiry search {path}: expected <category>_<attribute> ids")
    return text


def parse_search_config(raw: str) -> SearchConfig | None:
    """None when the search is off (empty configuration)."""
    if not raw.strip():
        return None
    try:
        document = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ExpiryConfigError(f"expiry search is not JSON: {exc.msg}") from exc
    if not isinstance(document, dict):
        raise ExpiryConfigError("expiry search must be a JSON object")
    unknown = sorted(set(document) - _SEARCH_KEYS)
    if unknown:
        raise ExpiryConfigError(f"expiry search: unknown keys {', '.join(unknown)}")
    where = document.get("where")
    if not isinstance(where, str) or not where.strip():
        raise ExpiryConfigError("expiry search where: an LQL query is required")
    locations = document.get("location_id")
    if locations is None or locations == "":
        location_ids: tuple[str, ...] = ()
    else:
        listed = locations if isinstance(locations, list) else [locations]
        if not all(str(loc).strip().isdigit() for loc in listed):
            raise ExpiryConfigError("expiry search location_id: Content Server node ids")
        location_ids = tuple(str(loc).strip() for loc in listed)
    kind = document.get("kind", "contract")
    if kind not in KINDS:
        raise ExpiryConfigError(f"expiry search kind: one of {', '.join(KINDS)}")
    roles = document.get("notify_roles", [])
    if not isinstance(roles, list) or any(role not in ROLES for role in roles):
        raise ExpiryConfigError(f"expiry search notify_roles: a list of {', '.join(ROLES)}")
    page_size = document.get("page_size", 100)
    if isinstance(page_size, bool) or not isinstance(page_size, int) or not 1 <= page_size <= 500:
        raise ExpiryConfigError("expiry search page_size: 1 to 500")
    owner = document.get("owner_attribute")
    kind_attribute = document.get("kind_attribute")
    return SearchConfig(
        where=where.strip(),
        date_attribute=_attribute(document.get("date_attribute"), "date_attribute"),
        owner_attribute=_attribute(owner, "owner_attribute") if owner is not None else None,
        location_ids=location_ids,
        kind=kind,
        kind_attribute=(
            _attribute(kind_attribute, "kind_attribute") if kind_attribute is not None else None
        ),
        notify_roles=tuple(dict.fromkeys(roles)),
        page_size=page_size,
    )


def _user_ids(value: object) -> list[str]:
    values = value if isinstance(value, list | tuple) else [value]
    users = []
    for item in values:
        if isinstance(item, Mapping):  # a user attribute may come as {"id": ..., "name": ...}
            item = item.get("name") or item.get("id")
        if item is None or isinstance(item, bool):
            continue
        text = str(item).strip()
        if text:
            users.append(text)
    return list(dict.fromkeys(users))


def record_from_search(
    node_id: int | str, name: str, categories: Mapping[str, Any], config: SearchConfig
) -> tuple[Record, list[str]]:
    """The record and owners of one search hit; ValueError when it has no usable expiry date
    (the hit is skipped, not guessed)."""
    expires_at = parse_ecm_date(categories.get(config.date_attribute))
    kind = config.kind
    if config.kind_attribute is not None:
        found = str(categories.get(config.kind_attribute) or "").strip().lower()
        kind = found if found in KINDS else kind
    owners = (
        _user_ids(categories.get(config.owner_attribute))
        if config.owner_attribute is not None
        else []
    )
    record = Record.model_validate(
        {"node_id": str(node_id), "name": name, "kind": kind, "expires_at": expires_at}
    )
    return record, owners
