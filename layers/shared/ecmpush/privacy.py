"""ECM login names stay out of logs (issue 9, finding 7): what a log line or an error message that
may be logged names instead is a stable pseudonym, `u:` and 12 hex digits of an HMAC-SHA256 of
the login under a per-stack salt (`ECMPUSH_LOG_SALT`, the template sets it to the stack id).

Stable, so one user's lines can still be followed through a flow and across functions; salted,
so a table of hashed names made for another deployment does not read this one's logs. It is a
pseudonym, not anonymity: whoever has the salt and a list of logins can test a guess
(support finds a user's lines with `pseudonym(login, salt)`)."""

from __future__ import annotations

import hashlib
import hmac
import os

_DIGITS = 12


def pseudonym(login: str, salt: str) -> str:
    digest = hmac.new(salt.encode(), login.encode(), hashlib.sha256).hexdigest()
    return f"u:{digest[:_DIGITS]}"


def who(login: str | None) -> str:
    """What logs say for `login` (read the salt per call: it is tiny, and tests change it)."""
    if not login:
        return "-"
    return pseudonym(login, os.environ.get("ECMPUSH_LOG_SALT", ""))
