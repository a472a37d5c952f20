"""The OTDS sign-in bridge (docs/sign-in.md): `POST /sign-in/otds/start` answers the OTDS
authorization URL for the app's PKCE challenge, `POST /sign-in/otds/token` turns the code OTDS
sent back into a Firebase custom token whose `ecm_user` is the Content Server login. Deployed
only when the template's OtdsBaseUrl is set."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.utilities.typing import LambdaContext

from ecmpush import bootstrap
from ecmpush.domain.field_errors import field_errors
from ecmpush.domain.json_text import UnreadableJson, read_json
from ecmpush.domain.sign_in import FinishRequest, SignInRefused, StartRequest
from ecmpush.entrypoints.answers import (
    ANONYMOUS,
    SignInFinished,
    SignInStarted,
    documented,
    model_response,
)
from ecmpush.entrypoints.http import UnreadableBody, error_response, raw_body
from ecmpush.entrypoints.observability import logger, metrics, tracer
from ecmpush.entrypoints.snapstart import prepare_snapshot

MAX_BODY_BYTES = 4096
app = APIGatewayRestResolver(enable_validation=True)
# SnapStart: the first request's lazy imports go into the snapshot (entrypoints/snapstart.py).
prepare_snapshot(
    "ecmpush.adapters.secrets",
    "ecmpush.adapters.otds_client",
    "ecmpush.adapters.custom_tokens",
    "ecmpush.services.sign_in",
)


@app.exception_handler(SignInRefused)
def _refused(exc: SignInRefused) -> Response[str]:
    logger.info("sign-in refused %s: %s", exc.status, exc)
    return error_response(exc.status, str(exc))


@app.exception_handler(RequestValidationError)
def _invalid(exc: RequestValidationError) -> Response[str]:
    errors = field_errors(exc.errors(), drop_root=("body", "path", "query"))
    return error_response(422, "request does not match the schema", errors)


@app.post(
    "/sign-in/otds/start",
    operation_id="startOtdsSignIn",
    summary="Start signing in with OTDS (authorization code with PKCE)",
    tags=["sign-in"],
    security=ANONYMOUS,
    responses=documented(
        {
            200: ("send the browser to `authorize_url`", SignInStarted),
            400: ("not UTF-8 JSON", None),
            413: ("body over 4 KiB", None),
            422: ("the request breaks the schema (field paths in `errors`)", None),
        }
    ),
)
def start(request: Annotated[StartRequest, Body()]) -> Response[str]:
    started = bootstrap.build_sign_in().start(request.code_challenge)
    body = SignInStarted(authorize_url=started.authorize_url, state=started.state)
    return model_response(200, body)


@app.post(
    "/sign-in/otds/token",
    operation_id="finishOtdsSignIn",
    summary="Finish signing in with OTDS: a Firebase custom token for the OTDS user",
    tags=["sign-in"],
    security=ANONYMOUS,
    responses=documented(
        {
            200: ("a custom token for signInWithCustomToken", SignInFinished),
            400: (
                "not UTF-8 JSON; state not issued here or expired, verifier mismatch, or OTDS "
                "refused the code",
                None,
            ),
            403: ("the OTDS user may not sign in, or has no Content Server login", None),
            413: ("body over 4 KiB", None),
            422: ("the request breaks the schema (field paths in `errors`)", None),
            502: ("OTDS or Content Server unreachable or answering unexpectedly", None),
        }
    ),
)
def finish(request: Annotated[FinishRequest, Body()]) -> Response[str]:
    signed_in = bootstrap.build_sign_in().finish(request.code, request.state, request.code_verifier)
    logger.info("signed in through OTDS")
    return model_response(200, SignInFinished(custom_token=signed_in.custom_token))


@logger.inject_lambda_context(correlation_id_path="requestContext.requestId")
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Size, then readability (400: not UTF-8 JSON), then the routes' schemas (422)."""
    try:
        raw = raw_body(event)
        if len(raw) > MAX_BODY_BYTES:
            return _answer(error_response(413, f"body larger than {MAX_BODY_BYTES} bytes"))
        read_json(raw)
    except (UnreadableBody, UnreadableJson) as exc:
        return _answer(error_response(400, str(exc)))
    return app.resolve(event, context)


def _answer(response: Response[str]) -> dict[str, Any]:
    return {
        "statusCode": response.status_code,
        "headers": {"Content-Type": "application/json"},
        "body": response.body,
        "isBase64Encoded": False,
    }
