"""pydantic errors as `{path, message}` pairs: the one error shape every endpoint answers with."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from pydantic import ValidationError

FieldError = dict[str, str]


def field_errors(
    errors: ValidationError | Sequence[Any], drop_parts: Collection[str] = ()
) -> list[FieldError]:
    """`drop_parts` removes location parts that are not JSON fields (union tags, 'body')."""
    raw = (
        errors.errors(include_url=False, include_input=False)
        if isinstance(errors, ValidationError)
        else errors
    )
    result = []
    for error in raw:
        loc = [str(part) for part in error.get("loc", ()) if str(part) not in drop_parts]
        result.append({"path": ".".join(loc), "message": str(error.get("msg", "invalid value"))})
    return result
