"""What every app-facing API function shares: a resolver with request validation, Firebase
ID-token authentication checked before it, and one mapping of refusals to HTTP answers.
Why: docs/design/app-api-guard.md."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError

from ecmpush import bootstrap
from ecmpush.domain.field_errors import field_errors
from ecmpush.domain.identity import Principal, RevocationCheckUnavailable, Unauthenticated
from ecmpush.domain.json_text import UnreadableJson, read_json
from ecmpush.entrypoints.http import UnreadableBody, bearer_token, error_response, raw_body
from ecmpush.entrypoints.observability import logger

Refusal = tuple[type[Exception], int]

MAX_APP_BODY_BYTES = 8 * 1024  # the largest valid app body (a reply) is about 6 KiB


class BadBody(Exception):
    """The body cannot be read at all (`status` 400), or is too large (413)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _verify_caller(app: APIGatewayRestResolver) -> Principal:
    """Requests that change something (register or delete a device, save preferences, answer a
    push) see a revocation or a disabled user at once (or within `RevocationCacheSeconds`);
    reads of the caller's own inbox and preferences may use a user account cached for
    `ReadRevocationCacheSeconds` (issue 21 §4)."""
    token = bearer_token(app.current_event.headers.get("authorization"))
    if token is None:
        raise Unauthenticated("missing bearer token")
    changes = app.current_event.http_method.upper() != "GET"
    return bootstrap.build_id_token_verifier().verify(token, changes=changes)


def _check_body(raw: bytes) -> None:
    if not raw:
        return
    try:
        read_json(raw)
    except UnreadableJson as exc:
        raise BadBody(400, str(exc)) from None


def guard(app: APIGatewayRestResolver) -> Principal:
    """Size, caller, readability: in that order, before any schema validation."""
    try:
        raw = raw_body(app.current_event.raw_event)
    except UnreadableBody as exc:
        raise BadBody(400, str(exc)) from None
    if len(raw) > MAX_APP_BODY_BYTES:
        raise BadBody(413, f"body larger than {MAX_APP_BODY_BYTES} bytes")
    principal = _verify_caller(app)
    _check_body(raw)
    return principal


def authenticated(app: APIGatewayRestResolver) -> Principal:
    """The caller `guard` verified for this request."""
    principal = app.context.get("principal")
    if not isinstance(principal, Principal):
        raise Unauthenticated("request was not authenticated")
    return principal


def _is_aws_error(exc_type: type) -> bool:
    """A botocore error (BotoCoreError, ClientError and the per-service ClientError classes)."""
    exceptions = sys.modules.get("botocore.exceptions")
    return exceptions is not None and issubclass(
        exc_type, (exceptions.BotoCoreError, exceptions.ClientError)
    )


def _aws_unavailable(exc: Exception) -> Response[str]:
    # AWS could not be reached or refused: nothing was half-done that a retry cannot redo.
    logger.exception("AWS call failed")
    response = error_response(503, "temporarily unavailable; retry")
    response.headers["Retry-After"] = "5"
    return response


class GuardedResolver(APIGatewayRestResolver):
    """Runs `guard` for every matched route before Powertools' request validation. Powertools
    has no public hook that early, so this class is the one owner of its private `_call_route`
    and `_call_exception_handler` (pinned: tests/unit/test_app_api_errors.py)."""

    def _call_route(self, route: Any, route_arguments: dict[str, str]) -> Any:
        try:
            self.append_context(principal=guard(self))  # type: ignore[no-untyped-call]
        except Exception as exc:
            handled = self._call_exception_handler(exc, route)
            if handled is None:
                raise
            return handled
        return super()._call_route(route, route_arguments)


def app_resolver(*refusals: Refusal) -> APIGatewayRestResolver:
    """A resolver answering 413/400 for unusable bodies, 401 for bad ID tokens (both before
    any validation), 422 for schema errors, 503 for AWS SDK errors, and each (exception type,
    status) in `refusals` with that status and the exception's message."""
    app = GuardedResolver(enable_validation=True)

    @app.exception_handler(Unauthenticated)
    def _unauthenticated(exc: Unauthenticated) -> Response[str]:
        logger.info("unauthenticated: %s", exc)
        return error_response(401, "invalid or missing Firebase ID token")

    @app.exception_handler(RequestValidationError)
    def _invalid(exc: RequestValidationError) -> Response[str]:
        errors = field_errors(exc.errors(), drop_root=("body", "path", "query"))
        return error_response(422, "request does not match the schema", errors)

    @app.exception_handler(RevocationCheckUnavailable)
    def _revocation_unavailable(exc: RevocationCheckUnavailable) -> Response[str]:
        logger.warning("revocation check unavailable: %s", exc)
        response = error_response(503, "sign-in could not be checked right now; retry")
        response.headers["Retry-After"] = "5"
        return response

    @app.exception_handler(BadBody)
    def _bad_body(exc: BadBody) -> Response[str]:
        return error_response(exc.status, str(exc))

    @app.exception_handler(Exception)
    def _unhandled(exc: Exception) -> Response[str]:
        """Only reached when no handler of a closer type claims `exc`: AWS SDK errors are 503,
        anything else goes on as if unhandled (a 500 from Lambda, logged)."""
        if _is_aws_error(type(exc)):
            return _aws_unavailable(exc)
        raise exc

    for exception, status in refusals:
        app.exception_handler(exception)(_refusal(status))
    return app


def _refusal(status: int) -> Callable[[Exception], Response[str]]:
    def handle(exc: Exception) -> Response[str]:
        logger.info("refused %s: %s", status, exc)
        return error_response(status, str(exc))

    return handle
