"""Internal and external identities: one spelling each, in two namespaces no input can cross.

External stakeholders are addressed as `ext:<external id>` inside ecmpush (recipients, device
owners). An ECM user id from any outside source (a webhook event, the routing configuration, an
ID token's `ecm_user` claim, a login in a Content Server answer) may therefore never start with
that prefix: otherwise an event naming `ext:cust-42` as an assignee would put internal content
on an external phone.

One user, one spelling (issue 20, finding 9). Every door reads an id through `ecm_user_id` or
`external_id`: NFKC (a full-width `asmith` is `asmith`), stripped, and refused when it still
holds anything a reader cannot see or tell apart: default-ignorable code points (`asmith` +
U+200B), other format, control, private-use or unassigned code points, combining marks that
NFKC could not compose, whitespace other than the plain space, or `#`, the separator of
DynamoDB keys (`d#<owner>#<installation>`: `rtcust#victim` would read as `rtcust`'s key prefix,
finding 7). Content Server login names are case-insensitive, so an ECM user id is casefolded
(`ASmith` is `asmith`); a login whose folding changes letters rather than case (`ß` → `ss`) is
refused, as Content Server would not know it by the folded spelling. External ids are the
operator's customer-system ids, which may be case-sensitive (Salesforce ids are): their case is
kept and compared exactly."""

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
    """The one spelling of an ECM user id (see the module docstring); ValueError says why a
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
