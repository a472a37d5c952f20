"""Operator settings written as JSON in a template parameter (the SLA hours, the expiry search):
read into an object, or refused with the setting's name in the message, so a typo stops the
deploy's first sweep with a clear error instead of a traceback."""

from __future__ import annotations

import json
from typing import Any


def json_object(raw: str, setting: str, error: type[ValueError]) -> dict[str, Any]:
    try:
        document = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise error(f"{setting} is not JSON: {exc.msg}") from exc
    if not isinstance(document, dict):
        raise error(f"{setting} must be a JSON object")
    return document
