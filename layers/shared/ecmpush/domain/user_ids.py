"""Internal and external identities: one spelling each, in two namespaces no input can cross.
Why: docs/design/identity-namespaces.md."""

from __future__ import annotations

import unicodedata
from typing import Annotated

from pydantic import AfterValidator, StringConstraints

from ecmpush.domain.unicode_text import is_default_ignorable

EXTERNAL_PREFIX = "ext:"
MAX_USER_ID = 128
KEY_SEPARATOR = "#"
_MAX_RAW = 1024  # longer input is refused before it is normalised


def is_external(recipient: str) -> bool:
    return recipient.lower().startswith(EXTERNAL_PREFIX)


def _unseen(ch: str) -> str | None:
    """Why `ch` cannot be part of an id, or None."""
    if ch == KEY_SEPARATOR:
        return f"{KEY_SEPARATOR!r}, the key separator"
    category = unicodedata.category(ch)
    if is_default_ignorable(ch):
        return f"U+{ord(ch):04X}, an invisible (default-ignorable) character"
    if category[0] == "C":
        return f"U+{ord(ch):04X}, a control, format, private-use or unassigned code point"
    if category[0] == "M":
        return f"U+{ord(ch):04X}, a combining mark"
    if category[0] == "Z" and ch != " ":
        return f"U+{ord(ch):04X}, a space or separator other than the plain space"
    return None


def _plain(value: str, what: str) -> str:
    if len(value) > _MAX_RAW:
        raise ValueError(f"{what} has 1 to {MAX_USER_ID} characters")
    text = unicodedata.normalize("NFKC", value).strip()
    if not text:
        raise ValueError(f"{what} must not be blank")
    if len(text) > MAX_USER_ID:
        raise ValueError(f"{what} has 1 to {MAX_USER_ID} characters")
    for ch in text:
        reason = _unseen(ch)
        if reason:
            raise ValueError(f"{what} must not contain {reason}")
    return text


def ecm_user_id(value: str) -> str:
    """The one spelling of an ECM user id (design page); ValueError says why a
    value has none. Raised messages never quote the value (it may be personal data)."""
    what = "an ECM user id"
    text = _plain(value, what)
    folded = unicodedata.normalize("NFKC", text.casefold())
    if folded != unicodedata.normalize("NFKC", text.lower()):
        raise ValueError(f"{what} must not hold letters that case folding changes (ß, ς)")
    folded = _plain(folded, what)  # folding can add a mark (İ → i + U+0307)
    if is_external(folded):
        raise ValueError(f"{what} must not start with {EXTERNAL_PREFIX!r}")
    return folded


def external_id(value: str) -> str:
    """The one spelling of an external stakeholder's id: as `ecm_user_id`, but case is kept."""
    return _plain(value, "an external id")


InternalUserId = Annotated[str, StringConstraints(max_length=_MAX_RAW), AfterValidator(ecm_user_id)]
ExternalId = Annotated[str, StringConstraints(max_length=_MAX_RAW), AfterValidator(external_id)]
