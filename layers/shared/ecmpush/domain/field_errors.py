"""pydantic errors as `{path, message}` pairs: the one error shape every endpoint answers with."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from pydantic import ValidationError

FieldError = dict[str, str]


def field_errors(
    errors: ValidationError | Sequence[Any], drop_root: Collection[str] = ()
) -> list[FieldError]:
    """`drop_root` names a first location part that is not a JSON field (a union tag, 'body')."""
    raw = (
        errors.errors(include_url=False, include_input=False)
        if isinstance(errors, ValidationError)
        else errors
    )
    result = []
    for error in raw:
        loc = [str(part) for part in error.get("loc", ())]
        if loc and loc[0] in drop_root:
            loc = loc[1:]
        result.append({"path": ".".join(loc), "message": str(error.get("msg", "invalid value"))})
    return result
