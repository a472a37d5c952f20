"""Turns HTTP requests into API Gateway REST proxy events for the handlers the template routes,
and their proxy results back into HTTP responses: what API Gateway does in front of Lambda."""

from __future__ import annotations

import base64
import re
import time
import uuid
from typing import Any

from werkzeug.wrappers import Request, Response

from devstack.lambda_runtime import LocalFunction
from devstack.template import ApiRoute

MAX_PAYLOAD = 10 * 1024 * 1024  # API Gateway's own request limit


def _pattern(path: str) -> re.Pattern[str]:
    regex = re.sub(r"\\\{([A-Za-z0-9_]+)\\\}", r"(?P<\1>[^/]+)", re.escape(path))
    return re.compile(f"^{regex}$")


class ApiRouter:
    def __init__(self, routes: list[tuple[ApiRoute, LocalFunction]], stage: str = "local") -> None:
        self._routes = [(route, _pattern(route.path), fn) for route, fn in routes]
        self._stage = stage

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
                return Response('{"message":"Request Too Long"}', 413, content_type="application/json")
            result = function.invoke(self._event(request, route, match.groupdict()))
            return self._response(result)
        if allowed:
            return Response('{"message":"Method Not Allowed"}', 405, headers={"Allow": ", ".join(allowed)}, content_type="application/json")
        return Response('{"message":"Missing Authentication Token"}', 403, content_type="application/json")

    def _event(self, request: Request, route: ApiRoute, path_params: dict[str, str]) -> dict[str, Any]:
        raw = request.get_data(cache=False)
        try:
            body: str | None = raw.decode("utf-8") if raw else None
            is_base64 = False
        except UnicodeDecodeError:
            body, is_base64 = base64.b64encode(raw).decode(), True
        headers = {key: value for key, value in request.headers.items()}
        multi_headers = {key: request.headers.getlist(key) for key in request.headers.keys()}  # noqa: SIM118
        query = {key: request.args.getlist(key) for key in request.args}
        request_id = str(uuid.uuid4())
        return {
            "resource": route.path,
            "path": request.path,
            "httpMethod": request.method,
            "headers": headers,
            "multiValueHeaders": multi_headers,
            "queryStringParameters": {k: v[-1] for k, v in query.items()} or None,
            "multiValueQueryStringParameters": query or None,
            "pathParameters": path_params or None,
            "stageVariables": None,
            "requestContext": {
                "resourcePath": route.path,
                "httpMethod": request.method,
                "path": f"/{self._stage}{request.path}",
                "stage": self._stage,
                "requestId": request_id,
                "requestTimeEpoch": int(time.time() * 1000),
                "identity": {"sourceIp": request.remote_addr or "127.0.0.1", "userAgent": request.user_agent.string},
                "accountId": "123456789012",
                "apiId": "local",
                "protocol": request.environ.get("SERVER_PROTOCOL", "HTTP/1.1"),
            },
            "body": body,
            "isBase64Encoded": is_base64,
        }

    @staticmethod
    def _response(result: Any) -> Response:
        if not isinstance(result, dict) or "statusCode" not in result:
            return Response('{"message":"Internal server error"}', 502, content_type="application/json")
        body = result.get("body") or ""
        data = base64.b64decode(body) if result.get("isBase64Encoded") else str(body).encode()
        response = Response(data, int(result["statusCode"]))
        response.headers.clear()
        for key, value in (result.get("headers") or {}).items():
            response.headers[key] = str(value)
        for key, values in (result.get("multiValueHeaders") or {}).items():
            response.headers.setlist(key, [str(v) for v in values])
        return response
