"""How the Content Server stand-in answers: JSON bodies, Content Server's and OTDS's error shapes,
self links, and `Answer`, raised inside a route to answer at once (keeps the routes linear)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from typing import Any

from werkzeug.wrappers import Response


def utc_now() -> str:
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


class Answer(Exception):
    """Raised inside a handler to answer with `response` (keeps handlers linear)."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status)
        self.response = response


def json_response(
    body: Any, status: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    return Response(
        json.dumps(body), status=status, mimetype="application/json", headers=dict(headers or {})
    )


def error(status: int, message: str, **extra: Any) -> Answer:
    """Content Server's error shape: `{"error": text, "errorDetail": ""}`."""
    return Answer(json_response({"error": message, "errorDetail": "", **extra}, status))


def oauth_error(status: int, code: str, description: str) -> Answer:
    return Answer(json_response({"error": code, "error_description": description}, status))


def self_link(href: str, method: str) -> dict[str, Any]:
    return {
        "data": {
            "self": {"body": "", "content_type": "", "href": href, "method": method, "name": ""}
        }
    }
