"""A registered app installation and the registration request that creates it (contract §2)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, ConfigDict, StringConstraints

Platform = Literal["android", "ios", "web"]
AudienceKind = Literal["internal", "external"]

# What an existing installation id may look like (DELETE, and the optional id of a reply):
# installations registered before issue 9 keep working until they are deleted or pruned.
INSTALLATION_ID_PATTERN = r"^[A-Za-z0-9._:-]{1,128}$"
# What a new registration must use (issue 9): an id the app generated at random, so nobody can
# guess another user's (`my-phone` was the README's example). At least 16 characters of the
# URL-safe alphabet (a UUID, a Firebase installation id, `web-<uuid>`, 16 hex digits of an
# Android id all qualify) and at least MIN_DISTINCT different characters.
NEW_INSTALLATION_ID_PATTERN = r"^[A-Za-z0-9_-]{16,128}$"
MIN_DISTINCT = 6  # 16 random hex digits fall below it about 3 times in 100,000
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def weak_installation_id(value: str) -> str | None:
    """Why `value` is refused as a new installation id, or None when it will do."""
    if _UUID.fullmatch(value):
        return None
    if not re.fullmatch(NEW_INSTALLATION_ID_PATTERN, value):
        return (
            "installation ids must be at least 16 characters of A-Z, a-z, 0-9, '-' and '_' "
            "(generate one at random, e.g. a UUID)"
        )
    if len(set(value)) < MIN_DISTINCT:
        return f"installation id has fewer than {MIN_DISTINCT} different characters"
    return None


def _zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown IANA time zone {value!r}") from exc
    return value


TimeZoneName = Annotated[str, StringConstraints(max_length=64), AfterValidator(_zone)]
Locale = Annotated[str, StringConstraints(pattern=r"^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8}){0,3}$")]


class DeviceRegistration(BaseModel):
    """The body of `PUT /devices/{installation_id}`. An external registration is allowed only
    when the verified ID token carries the external id claim: never from this body."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    token: Annotated[str, StringConstraints(strip_whitespace=True, min_length=8, max_length=4096)]
    platform: Platform
    locale: Locale | None = None
    timezone: TimeZoneName | None = None
    app_version: Annotated[str, StringConstraints(max_length=64)] | None = None
    audience: AudienceKind = "internal"


class Device(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    owner: str
    installation_id: str
    token: str
    platform: Platform
    locale: str | None = None
    timezone: str | None = None
    app_version: str | None = None
    audience: AudienceKind = "internal"
    external_id: str | None = None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class RefreshEntry:
    """A device as the `by_refresh` index (keys only) shows it; `updated_at` is the stored text,
    exactly as a conditional delete must compare it."""

    owner: str
    installation_id: str
    updated_at: str
