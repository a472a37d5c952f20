"""Where the expiry sweep finds records itself: the Content Server search it runs
(`ECMPUSH_EXPIRY_SEARCH`, validated when loaded) and how a search hit becomes a record."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from ecmpush.domain.config_json import json_object
from ecmpush.domain.intake.events import Record
from ecmpush.domain.sweeps.expiry import (
    KINDS,
    ROLES,
    ExpiryConfigError,
    ExpiryPolicy,
    utc_day,
)
from ecmpush.domain.user_ids import ecm_user_id


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
    document = json_object(raw, "expiry search", ExpiryConfigError)
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
    """Owners in their one spelling (`ecm_user_id`: `ASmith` is `asmith`); an empty value or
    one no user id could be (`#`, invisible characters) names nobody."""
    values = value if isinstance(value, list | tuple) else [value]
    users = []
    for item in values:
        if isinstance(item, Mapping):  # a user attribute may come as {"id": ..., "name": ...}
            item = item.get("name") or item.get("id")
        if item is None or isinstance(item, bool):
            continue
        try:
            users.append(ecm_user_id(str(item)))
        except ValueError:
            continue
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
