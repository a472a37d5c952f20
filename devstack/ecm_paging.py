"""`collection.paging` of Content Server's paged answers (search, group members), in the shape
pyxecm's examples and the REST API 2.0.2 spec show, with the server's links to the next and
previous page."""

from __future__ import annotations

import math
from typing import Any


def page_bounds(total: int, page: int, limit: int) -> tuple[int, int]:
    """Slice bounds of `page` (1-based) of `limit` items."""
    start = (page - 1) * limit
    return start, min(start + limit, total)


def paging(total: int, page: int, limit: int, *, href: str, method: str) -> dict[str, Any]:
    start, end = page_bounds(total, page, limit)
    shown = max(0, end - start)
    page_total = math.ceil(total / limit) if total else 0
    range_min = start + 1 if shown else 0
    range_max = start + shown if shown else 0
    block: dict[str, Any] = {
        "limit": limit,
        "page": page,
        "page_total": page_total,
        "range_min": range_min,
        "range_max": range_max,
        "result_header_string": f"Results {range_min} to {range_max} of {total}",
        "total_count": total,
        "links": {},
    }
    if page < page_total:
        block["links"]["next"] = {"body": "", "href": href, "method": method, "name": "Next"}
    if page > 1:
        block["links"]["previous"] = {
            "body": "",
            "href": href,
            "method": method,
            "name": "Previous",
        }
    return block
