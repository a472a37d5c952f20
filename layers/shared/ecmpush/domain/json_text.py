"""Reads a request body as JSON the way contract §1 describes it: UTF-8 without a byte order
mark, nested at most `MAX_JSON_DEPTH` levels.

Both limits are explicit. `json.loads(bytes)` would silently accept UTF-16, UTF-32 and a UTF-8
BOM (it guesses the encoding), and its only depth limit is the interpreter's recursion limit,
which CPython 3.13 no longer reaches for thousands of levels (issue 21 §1). The depth is counted
before parsing in one pass over the text (strings skipped by a regular expression), so a hostile
body costs linear time and is refused before `json` builds anything."""

from __future__ import annotations

import codecs
import json
import re
from typing import Any

MAX_JSON_DEPTH = 64  # no valid body of ecmpush is deeper than 8 levels

# A string literal (unterminated ones run to the end: json refuses them afterwards) or a bracket.
_STRING_OR_BRACKET = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"?|[\[\]{}]', re.DOTALL)
_OPENERS = frozenset("[{")
_CLOSERS = frozenset("]}")
_WIDE_BOMS = (codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


class UnreadableJson(ValueError):
    """Not UTF-8 JSON, or nested deeper than allowed; `str()` is a message for the caller."""


def _check_encoding(raw: bytes) -> str:
    """UTF-16 and UTF-32 put a NUL byte beside every ASCII character (or start with their BOM);
    named, so a sender sees what to change instead of a bare decoding error."""
    if raw.startswith(codecs.BOM_UTF8):
        raise UnreadableJson("body starts with a byte order mark; send UTF-8 without a BOM")
    if raw.startswith(_WIDE_BOMS) or b"\x00" in raw[:4]:
        raise UnreadableJson("body is UTF-16 or UTF-32; send UTF-8 without a BOM")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UnreadableJson(f"body is not UTF-8: byte {exc.start} is invalid") from None


def check_depth(text: str, max_depth: int = MAX_JSON_DEPTH) -> None:
    """Refuses text whose arrays and objects nest deeper than `max_depth`; stops at the first
    bracket beyond it. Brackets inside strings do not count."""
    depth = 0
    for match in _STRING_OR_BRACKET.finditer(text):
        token = match.group()
        if token in _OPENERS:
            depth += 1
            if depth > max_depth:
                raise UnreadableJson(f"body is nested more than {max_depth} levels deep")
        elif token in _CLOSERS:
            depth -= 1


def read_json(raw: bytes, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """The JSON value of `raw`, or UnreadableJson (not UTF-8, a BOM, UTF-16/32, too deep, not
    JSON, an integer beyond Python's digit limit)."""
    text = _check_encoding(raw)
    check_depth(text, max_depth)
    try:
        return json.loads(text)
    except RecursionError:  # unreachable below the depth limit; kept so no interpreter 500s
        raise UnreadableJson(f"body is nested more than {max_depth} levels deep") from None
    except ValueError as exc:  # not JSON, or beyond Python's integer digit limit
        raise UnreadableJson(f"body is not valid JSON: {str(exc)[:200]}") from None
