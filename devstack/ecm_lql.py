"""The LQL subset the Content Server stand-in understands (`POST /api/v2/search` `where`).

Small on purpose and strict: what it does not understand answers 400, so a test never passes on
a query the stand-in silently ignored. Real LQL has more (word matching inside regions, `or`,
`not`, `qlrange`, phrase search); treat this as shape-compatible, not as a search engine."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol


class Searchable(Protocol):
    """What a region is read from: a stand-in node."""

    id: int
    name: str
    type: int
    parent_id: int
    mime_type: str | None

    def attribute(self, key: str) -> Any: ...


_CLAUSE = re.compile(
    r"\s*(?P<region>[A-Za-z][A-Za-z0-9_]*)\s*:\s*(?P<op>>=|<=|!=|>|<|=)?\s*"
    r"(?P<value>\"[^\"]*\"|[^\s\"()]+)"
)
_AND = re.compile(r"\s+and\s+", re.IGNORECASE)
_COMPACT_DATE = re.compile(r"^\d{8}$")
_ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_ISO_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$")


@dataclass(frozen=True)
class Clause:
    region: str
    op: str
    value: str


class LqlError(ValueError):
    pass


def parse_lql(where: str) -> list[Clause]:
    """The subset: `Region:value` clauses joined by `and`. Operators after the colon: none or
    `=` (case-insensitive equality; a trailing `*` makes it a prefix match), `!=`, `>`, `>=`, `<`,
    `<=`. Values are bare words or "quoted". Anything else (or, not, parentheses, full text
    terms) is refused with 400 so a test never passes on a query the stand-in silently ignored."""
    text = where.strip()
    if not text:
        raise LqlError("empty query")
    clauses: list[Clause] = []
    pos = 0
    while True:
        match = _CLAUSE.match(text, pos)
        if match is None:
            raise LqlError(f"expected Region:value at position {pos}: {text[pos:][:40]!r}")
        value = match["value"]
        if value.startswith('"'):
            value = value[1:-1]
        clauses.append(Clause(match["region"], match["op"] or "=", value))
        pos = match.end()
        if pos >= len(text.rstrip()):
            return clauses
        joiner = _AND.match(text, pos)
        if joiner is None:
            raise LqlError(f"only 'and' may join clauses (position {pos}: {text[pos:][:20]!r})")
        pos = joiner.end()


def _normal(value: Any) -> tuple[int, Any]:
    """Comparable form: (0, number), (1, ISO date-time) or (2, casefolded text)."""
    text = str(value).strip()
    if _COMPACT_DATE.match(text):
        return (1, f"{text[:4]}-{text[4:6]}-{text[6:]}T00:00:00")
    if _ISO_DAY.match(text):
        return (1, f"{text}T00:00:00")
    if _ISO_TIME.match(text):
        return (1, text)
    try:
        return (0, float(text))
    except ValueError:
        return (2, text.casefold())


def region_values(node: Searchable, region: str, ancestors: list[int]) -> list[Any]:
    name = region.casefold()
    if name == "otname":
        return [node.name]
    if name == "otsubtype":
        return [node.type]
    if name == "otparentid":
        return [node.parent_id]
    if name in ("otobject", "otdataid"):
        return [node.id]
    if name == "otlocation":
        return ancestors
    if name == "otmimetype":
        return [node.mime_type] if node.mime_type else []
    if name.startswith("attr_"):
        value = node.attribute(region[len("attr_") :])
        return [] if value is None else [value]
    raise LqlError(f"unknown region {region!r}")


def matches(clause: Clause, values: Iterable[Any]) -> bool:
    wanted = _normal(clause.value)
    for value in values:
        got = _normal(value)
        if clause.op == "=":
            if clause.value.endswith("*"):
                prefix = clause.value[:-1].casefold()
                if str(value).casefold().startswith(prefix):
                    return True
            elif got == wanted:
                return True
            continue
        if clause.op == "!=":
            if got != wanted:
                return True
            continue
        if got[0] != wanted[0]:
            continue
        less = got[1] < wanted[1]
        equal = got[1] == wanted[1]
        if (
            (clause.op == "<" and less)
            or (clause.op == "<=" and (less or equal))
            or (clause.op == ">" and not less and not equal)
            or (clause.op == ">=" and not less)
        ):
            return True
    return False
