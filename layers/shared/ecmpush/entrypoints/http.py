"""JSON responses for the API handlers, in one error shape: `{"message", "errors": [{path,
message}]}` so app and ECM-side developers parse one format everywhere."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
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


class UnreadableBody(ValueError):
    """API Gateway said the body is base64, and it is not."""


def raw_body(event: Mapping[str, Any]) -> bytes:
    """The request body's bytes, as API Gateway passed them (text, or base64 for binary media
    types); lone surrogates kept, so a non-UTF-8 body fails where it is decoded, with a 400."""
    raw = event.get("body") or ""
    if not event.get("isBase64Encoded"):
        return str(raw).encode("utf-8", "surrogatepass")
    try:
        return base64.b64decode(str(raw), validate=True)
    except (binascii.Error, ValueError):
        raise UnreadableBody("body is not valid base64") from None


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
