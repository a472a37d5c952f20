"""Turns HTTP requests into API Gateway REST proxy events for the handlers the template routes,
and their proxy results back into HTTP responses: what API Gateway does in front of Lambda."""

from __future__ import annotations

import base64
import re
import time
import uuid
from collections import Counter
from typing import Any

from werkzeug.wrappers import Request, Response

from devstack.lambda_runtime import LocalFunction
from devstack.template import ApiRoute

MAX_PAYLOAD = 10 * 1024 * 1024  # API Gateway's own request limit


def _pattern(path: str) -> re.Pattern[str]:
    regex = re.sub(r"\\\{([A-Za-z0-9_]+)\\\}", r"(?P<\1>[^/]+)", re.escape(path))
    return re.compile(f"^{regex}$")


class ApiRouter:
    """`api_keys`: the keys of the stage's usage plans. A route that requires one answers 403
    without a valid `x-api-key`, before its function runs, as API Gateway does."""

    def __init__(
        self,
        routes: list[tuple[ApiRoute, LocalFunction]],
        stage: str = "local",
        api_keys: frozenset[str] = frozenset(),
    ) -> None:
        self._routes = [(route, _pattern(route.path), fn) for route, fn in routes]
        self._stage = stage
        self._api_keys = api_keys
        # (route path, status) → count, for `python -m devstack status` (webhook 4xx / 5xx).
        self.answers: Counter[tuple[str, int]] = Counter()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        return self._dispatch(request)(environ, start_response)

    def _dispatch(self, request: Request) -> Response:
        allowed = []
        for route, pattern, function in self._routes:
            match = pattern.match(request.path)
            if not match:
                continue
            if route.method != request.method and route.method != "ANY":
                allowed.append(route.method)
                continue
            if (request.content_length or 0) > MAX_PAYLOAD:
                return Response(
                    '{"message":"Request Too Long"}', 413, content_type="application/json"
                )
            if route.api_key_required and request.headers.get("x-api-key") not in self._api_keys:
                self.answers[(route.path, 403)] += 1
                return Response('{"message":"Forbidden"}', 403, content_type="application/json")
            result = function.invoke(self._event(request, route, match.groupdict()))
            response = self._response(result)
            self.answers[(route.path, response.status_code)] += 1
            return response
        if allowed:
            return Response(
                '{"message":"Method Not Allowed"}',
                405,
                headers={"Allow": ", ".join(allowed)},
                content_type="application/json",
            )
        return Response(
            '{"message":"Missing Authentication Token"}', 403, content_type="application/json"
        )

    def _event(
        self, request: Request, route: ApiRoute, path_params: dict[str, str]
    ) -> dict[str, Any]:
        return proxy_event(
            request.method,
            request.path,
            route.path,
            headers={key: request.headers.getlist(key) for key in request.headers.keys()},  # noqa: SIM118
            body=request.get_data(cache=False),
            path_params=path_params,
            query={key: request.args.getlist(key) for key in request.args},
            source_ip=request.remote_addr or "127.0.0.1",
            stage=self._stage,
        )

    @staticmethod
    def _response(result: Any) -> Response:
        if not isinstance(result, dict) or "statusCode" not in result:
            return Response(
                '{"message":"Internal server error"}', 502, content_type="application/json"
            )
        body = result.get("body") or ""
        data = base64.b64decode(body) if result.get("isBase64Encoded") else str(body).encode()
        response = Response(data, int(result["statusCode"]))
        response.headers.clear()
        for key, value in (result.get("headers") or {}).items():
            response.headers[key] = str(value)
        for key, values in (result.get("multiValueHeaders") or {}).items():
            response.headers.setlist(key, [str(v) for v in values])
        return response


def proxy_event(
    method: str,
    path: str,
    resource: str,
    *,
    headers: dict[str, list[str]] | None = None,
    body: bytes = b"",
    path_params: dict[str, str] | None = None,
    query: dict[str, list[str]] | None = None,
    source_ip: str = "127.0.0.1",
    stage: str = "local",
) -> dict[str, Any]:
    """An API Gateway REST (v1) proxy event, as API Gateway builds it: bodies that are not UTF-8
    travel base64-encoded, single-value maps carry the last value of each multi-value list."""
    try:
        text: str | None = body.decode("utf-8") if body else None
        is_base64 = False
    except UnicodeDecodeError:
        text, is_base64 = base64.b64encode(body).decode(), True
    headers = headers or {}
    query = query or {}
    return {
        "resource": resource,
        "path": path,
        "httpMethod": method,
        "headers": {key: values[-1] for key, values in headers.items()} or None,
        "multiValueHeaders": headers or None,
        "queryStringParameters": {key: values[-1] for key, values in query.items()} or None,
        "multiValueQueryStringParameters": query or None,
        "pathParameters": path_params or None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": resource,
            "httpMethod": method,
            "path": f"/{stage}{path}",
            "stage": stage,
            "requestId": str(uuid.uuid4()),
            "requestTimeEpoch": int(time.time() * 1000),
            "identity": {"sourceIp": source_ip},
            "accountId": "123456789012",
            "apiId": "local",
            "protocol": "HTTP/1.1",
        },
        "body": text,
        "isBase64Encoded": is_base64,
    }
