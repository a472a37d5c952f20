"""What an app installation id may look like (contract §2, issue 9).

Its own module, without pydantic models: the reply API's body (domain/replies/requests.py) needs
only a pattern at init, and taking it from domain/delivery/devices.py built the device models in
ResponseCallback's init too (bench/cold_import, docs/benchmarks.md §1)."""

from __future__ import annotations

import re

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
