"""JSON responses for the API handlers, in one error shape: `{"message", "errors": [{path,
message}]}` so app and ECM-side developers parse one format everywhere."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.event_handler import Response

from ecmpush.domain.field_errors import FieldError

JSON = "application/json"


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> Response[str]:
    return Response(
        status_code=status,
        content_type=JSON,
        body=json.dumps(body, separators=(",", ":"), default=str),
        headers=headers,
    )


def error_response(
    status: int, message: str, errors: list[FieldError] | None = None
) -> Response[str]:
    body: dict[str, Any] = {"message": message}
    if errors:
        body["errors"] = errors
    return json_response(status, body)


def bearer_token(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None
