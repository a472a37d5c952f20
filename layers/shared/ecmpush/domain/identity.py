"""Who is calling the device and reply endpoints, as proven by a verified Firebase ID token."""

from __future__ import annotations

from dataclasses import dataclass

from ecmpush.domain.user_ids import EXTERNAL_PREFIX, ecm_user_id, external_id


class Unauthenticated(Exception):
    """The bearer token is missing, malformed, expired or not signed for this project, or its
    user was revoked, disabled or deleted (401)."""


class RevocationCheckUnavailable(Exception):
    """A route that checks revocation could not ask Firebase Authentication (503): it fails
    closed, a revoked user must not slip through an outage."""


@dataclass(frozen=True)
class Principal:
    """`ecm_user` comes from a custom claim set by the app's backend, never from a request body.

    `external_id` is present only for external stakeholders (claim `ecm_external`); such a user
    may have no ECM account, so `owner` falls back to `ext:<external_id>`.
    """

    uid: str
    ecm_user: str | None
    external_id: str | None = None

    def __post_init__(self) -> None:
        """Claims in their one spelling (`domain/user_ids.py`): `ASmith` is `asmith`, the owner
        of `asmith`'s devices; a blank claim, one spelled like an external recipient (it would
        read an external inbox) or one with invisible characters is refused, not ignored."""
        try:
            if self.ecm_user is not None:
                object.__setattr__(self, "ecm_user", ecm_user_id(self.ecm_user))
        except ValueError as exc:
            raise Unauthenticated(f"ecm_user claim refused: {exc}") from None
        try:
            if self.external_id is not None:
                object.__setattr__(self, "external_id", external_id(self.external_id))
        except ValueError as exc:
            raise Unauthenticated(f"external id claim refused: {exc}") from None

    @property
    def owner(self) -> str:
        if self.ecm_user:
            return self.ecm_user
        if self.external_id:
            return f"{EXTERNAL_PREFIX}{self.external_id}"
        raise Unauthenticated("token carries neither an ECM user nor an external id claim")
