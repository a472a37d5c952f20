"""What every app-facing API function shares: a resolver with request validation, Firebase
ID-token authentication, and one mapping of domain refusals to HTTP answers in the common error
shape, so /devices, /me and /responses cannot drift apart."""

from __future__ import annotations

from collections.abc import Callable

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from botocore.exceptions import BotoCoreError, ClientError

from ecmpush import bootstrap
from ecmpush.domain.field_errors import field_errors
from ecmpush.domain.identity import Principal, Unauthenticated
from ecmpush.http import bearer_token, error_response
from ecmpush.observability import logger

Refusal = tuple[type[Exception], int]


def authenticated(app: APIGatewayRestResolver) -> Principal:
    token = bearer_token(app.current_event.headers.get("authorization"))
    if token is None:
        raise Unauthenticated("missing bearer token")
    return bootstrap.id_token_verifier().verify(token)


def app_resolver(*refusals: Refusal) -> APIGatewayRestResolver:
    """A resolver answering 401 for bad ID tokens, 422 for schema errors, and each
    (exception type, status) in `refusals` with that status and the exception's message."""
    app = APIGatewayRestResolver(enable_validation=True)

    @app.exception_handler(Unauthenticated)
    def _unauthenticated(exc: Unauthenticated) -> Response[str]:
        logger.info("unauthenticated: %s", exc)
        return error_response(401, "invalid or missing Firebase ID token")

    @app.exception_handler(RequestValidationError)
    def _invalid(exc: RequestValidationError) -> Response[str]:
        errors = field_errors(exc.errors(), drop_root=("body", "path", "query"))
        return error_response(422, "request does not match the schema", errors)

    @app.exception_handler([BotoCoreError, ClientError])
    def _unavailable(exc: Exception) -> Response[str]:
        # AWS could not be reached or refused: nothing was half-done that a retry cannot redo.
        logger.exception("AWS call failed")
        response = error_response(503, "temporarily unavailable; retry")
        response.headers["Retry-After"] = "5"
        return response

    for exception, status in refusals:
        app.exception_handler(exception)(_refusal(status))
    return app


def _refusal(status: int) -> Callable[[Exception], Response[str]]:
    def handle(exc: Exception) -> Response[str]:
        logger.info("refused %s: %s", status, exc)
        return error_response(getattr(exc, "status", status), str(exc))

    return handle
