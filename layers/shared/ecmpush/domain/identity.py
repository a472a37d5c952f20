"""Who is calling the device and reply endpoints, as proven by a verified Firebase ID token."""

from __future__ import annotations

from dataclasses import dataclass


class Unauthenticated(Exception):
    """The bearer token is missing, malformed, expired or not signed for this project (401)."""


@dataclass(frozen=True)
class Principal:
    """`ecm_user` comes from a custom claim set by the app's backend, never from a request body.

    `external_id` is present only for external stakeholders (claim `ecm_external`); such a user
    may have no ECM account, so `owner` falls back to `ext:<external_id>`.
    """

    uid: str
    ecm_user: str | None
    external_id: str | None = None

    @property
    def owner(self) -> str:
        if self.ecm_user:
            return self.ecm_user
        if self.external_id:
            return f"ext:{self.external_id}"
        raise Unauthenticated("token carries neither an ECM user nor an external id claim")
