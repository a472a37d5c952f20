"""A user's answer to a push (contract §3): the request, who may give it, and the audit comment
it leaves in the Content Server workflow."""

from __future__ import annotations

import re
import unicodedata
import uuid
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, StringConstraints, model_validator

from ecmpush.clock import audit_stamp
from ecmpush.domain.delivery.installation_ids import INSTALLATION_ID_PATTERN
from ecmpush.domain.replies.action_token import ActionClaims
from ecmpush.domain.replies.reply_actions import ReplyAction
from ecmpush.domain.unicode_text import skeleton, without_default_ignorables

MAX_COMMENT_CHARS = 1000

# Looked for in what the text looks like (`skeleton`)...
_SYSTEM_WORDS = (
    (re.compile(r"via\s+ecmpush"), "must not contain ecmpush's own trailer"),
    (re.compile(r"^\W*on\s+behalf\s+of\b"), 'must not start with "On behalf of"'),
)
# ... and markup in what a parser reads (NFKC: a full-width "<" is "<"; "<1 h" is no tag).
_MARKUP = re.compile(r"<\s*[A-Za-z/!?]")


def clean_comment(value: str) -> str:
    """The user's words as they may enter the Content Server audit trail: control characters
    (CR/LF and NUL included) become spaces, and every default-ignorable code point goes (bidi
    controls, zero-width characters, soft hyphens, tag characters, Hangul fillers, U+180E),
    except the joiners and variation selectors inside emoji, which are kept whole.

    Text that would pass for what ecmpush itself writes (its "— via ecmpush …" trailer, the
    service account's "On behalf of …" prefix, markup) is refused rather than rewritten, and
    is looked for in what the text looks like (`skeleton`: NFKC, no marks or format
    characters, Cyrillic, Greek and full-width look-alikes read as Latin), not only in how it
    is spelled (issue 20, finding 8). The comment itself is kept in NFC, so `m²` and `½` stay
    as written."""
    text = without_default_ignorables(unicodedata.normalize("NFC", value))
    text = "".join(" " if unicodedata.category(ch) in ("Cc", "Zl", "Zp") else ch for ch in text)
    text = " ".join(text.split())
    looks = " ".join(skeleton(text).split())
    for pattern, refusal in _SYSTEM_WORDS:
        if pattern.search(looks):
            raise ValueError(f"comment {refusal}")
    if _MARKUP.search(unicodedata.normalize("NFKC", text)):
        raise ValueError("comment must not contain HTML or XML markup")
    if len(text) > MAX_COMMENT_CHARS:
        raise ValueError(f"comment longer than {MAX_COMMENT_CHARS} characters")
    return text


Comment = Annotated[
    str, StringConstraints(max_length=4 * MAX_COMMENT_CHARS), AfterValidator(clean_comment)
]


class ReplyRequest(BaseModel):
    """Body of `POST /responses`. `installation_id` is an optional addition to the contract: it
    ties the reply to the delivery it answers and names the platform in the audit comment."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    action_token: Annotated[str, StringConstraints(min_length=1, max_length=4096)]
    # "snooze": remind me later (docs/design/not-seen.md), with `snooze` saying when.
    action: Literal[ReplyAction, "snooze"]
    comment: Comment | None = None
    installation_id: Annotated[str, StringConstraints(pattern=INSTALLATION_ID_PATTERN)] | None = (
        None
    )
    snooze: Literal["1h", "tomorrow"] | None = None

    @model_validator(mode="after")
    def _snooze_says_when(self) -> ReplyRequest:
        if (self.action == "snooze") != (self.snooze is not None):
            raise ValueError('"snooze" is required with action "snooze", and only with it')
        if self.action == "snooze" and self.comment:
            raise ValueError('a snooze takes no "comment"')
        return self


class ReplyRefused(Exception):
    """The reply cannot be accepted (the entrypoint decides how to say so)."""


class ReplyForbidden(ReplyRefused):
    """Not this caller's to give: the token names another user, or the button was not sent."""


class ReplyConflict(ReplyRefused):
    """Cannot be taken now: already answered, or the task is closed (here or in ECM), or
    Content Server refuses this reply on this step."""


class ReplyStatus(StrEnum):
    QUEUED = "queued"  # accepted, waiting for Content Server
    APPLIED = "applied"  # the workflow step was sent on with the user's disposition
    TASK_CLOSED = "task_closed"  # someone else finished the step first: nothing was changed


def authorize(claims: ActionClaims, ecm_user: str | None, action: str) -> None:
    """The token names one recipient and the buttons it was sent with; nobody else, nothing else."""
    if ecm_user is None or claims.ecm_user != ecm_user:
        raise ReplyForbidden("this action token belongs to another user")
    if action not in claims.actions:
        raise ReplyForbidden(f"action {action!r} was not offered for this task")


def new_response_id() -> str:
    """A reply's id; `response_id` is its wire name in `POST /responses` (contract §3), kept."""
    return f"r-{uuid.uuid4()}"


def audit_comment(
    comment: str | None, *, prefix: str, platform: str | None, replied_at: datetime
) -> str:
    """What lands in the step's comment (the workflow audit trail): the user's words, then how
    and when they were given. The timestamp also makes each reply's comment unique, which is how
    the ECM client recognises a retry whose first attempt already went through. `comment` was
    cleaned by `clean_comment`, so the only trailer and prefix in the result are ecmpush's."""
    trailer = f"via ecmpush from {platform or 'app'} at {audit_stamp(replied_at)}"
    body = (comment or "").strip()
    return f"{prefix}{body} — {trailer}" if body else f"{prefix}{trailer}"
