"""Internal and external identities in two namespaces no input can cross.

External stakeholders are addressed as `ext:<external id>` inside ecmpush (recipients, device
owners). An ECM user id from any outside source (a webhook event, the routing configuration, an
ID token's `ecm_user` claim) may therefore never start with that prefix: otherwise an event
naming `ext:cust-42` as an assignee would put internal content on an external phone."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, StringConstraints

EXTERNAL_PREFIX = "ext:"
MAX_USER_ID = 128


def is_external(recipient: str) -> bool:
    return recipient.lower().startswith(EXTERNAL_PREFIX)


def internal_user_id(value: str) -> str:
    """Refuse the external prefix in any spelling (`EXT:` too): it is ecmpush's, not ECM's.
    `#` separates the parts of DynamoDB sort keys (`d#<owner>#<installation>`): an id holding
    one could read as another user's key prefix."""
    if is_external(value):
        raise ValueError(f"an ECM user id must not start with {EXTERNAL_PREFIX!r}")
    if "#" in value:
        raise ValueError("an ECM user id must not contain '#'")
    return value


def ecm_user_id(value: str) -> str:
    """What `InternalUserId` makes of `value`, for ids no model reads (a login in a Content
    Server answer): stripped, 1 to MAX_USER_ID characters, internal."""
    value = value.strip()
    if not 1 <= len(value) <= MAX_USER_ID:
        raise ValueError(f"an ECM user id has 1 to {MAX_USER_ID} characters")
    return internal_user_id(value)


InternalUserId = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_USER_ID),
    AfterValidator(internal_user_id),
]
