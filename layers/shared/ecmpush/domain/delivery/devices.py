"""A registered app installation and the registration request that creates it (contract §2)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, ConfigDict, StringConstraints

Platform = Literal["android", "ios", "web"]
AudienceKind = Literal["internal", "external"]


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


class RegisteredDevice(BaseModel):
    """A device as its owner sees it (the API's answer): everything but the FCM token."""

    model_config = ConfigDict(
        defer_build=True,
        json_schema_extra={
            "examples": [
                {
                    "owner": "asmith",
                    "installation_id": "3f0c9a62-5b1e-4d0a-9c55-1d2e3f4a5b6c",
                    "platform": "android",
                    "locale": "de-DE",
                    "timezone": "Europe/Berlin",
                    "app_version": "1.4.0",
                    "audience": "internal",
                    "external_id": None,
                    "created_at": "2026-11-28T10:00:00Z",
                    "updated_at": "2026-11-28T10:00:00Z",
                }
            ]
        },
    )

    owner: str
    installation_id: str
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


class DeviceLimitReached(Exception):
    """The owner already has the most installations allowed; a new one was not written (the
    store checks it in the write itself, so concurrent registrations cannot pass it)."""


class TokenHeld(Exception):
    """The FCM token is claimed by another owner's live registration; nothing was written."""
