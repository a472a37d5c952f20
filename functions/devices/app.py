"""Device registration for the mobile/web app (contract §2), authenticated by a Firebase ID
token. `/me/preferences` and `/me/notifications` answer 501 until their flow lands."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.params import Body, Path
from aws_lambda_powertools.utilities.typing import LambdaContext

from ecmpush import bootstrap
from ecmpush.domain.devices import INSTALLATION_ID_PATTERN, DeviceRegistration
from ecmpush.domain.field_errors import field_errors
from ecmpush.domain.identity import Principal, Unauthenticated
from ecmpush.http import bearer_token, error_response, json_response
from ecmpush.observability import logger, metrics, tracer
from ecmpush.services.devices import Forbidden

app = APIGatewayRestResolver(enable_validation=True)

InstallationId = Annotated[str, Path(pattern=INSTALLATION_ID_PATTERN)]


def _principal() -> Principal:
    token = bearer_token(app.current_event.headers.get("authorization"))
    if token is None:
        raise Unauthenticated("missing bearer token")
    return bootstrap.id_token_verifier().verify(token)


@app.exception_handler(Unauthenticated)
def _unauthenticated(exc: Unauthenticated) -> Response[str]:
    logger.info("unauthenticated: %s", exc)
    return error_response(401, "invalid or missing Firebase ID token")


@app.exception_handler(Forbidden)
def _forbidden(exc: Forbidden) -> Response[str]:
    return error_response(403, str(exc))


@app.exception_handler(RequestValidationError)
def _invalid(exc: RequestValidationError) -> Response[str]:
    return error_response(
        422,
        "request does not match the schema",
        field_errors(exc.errors(), drop_root=("body", "path")),
    )


@app.put("/devices/<installation_id>")
def put_device(
    installation_id: InstallationId, registration: Annotated[DeviceRegistration, Body()]
) -> Response[str]:
    principal = _principal()
    device, created = bootstrap.devices_service().register(principal, installation_id, registration)
    logger.info(
        "device registered",
        extra={"installation_id": installation_id, "created": created, "platform": device.platform},
    )
    body = device.model_dump(mode="json", exclude={"token"})
    return json_response(201 if created else 200, body)


@app.delete("/devices/<installation_id>")
def delete_device(installation_id: InstallationId) -> Response[str]:
    principal = _principal()
    if not bootstrap.devices_service().unregister(principal, installation_id):
        return error_response(404, "no such device for this user")
    return Response(status_code=204, content_type="application/json", body="")


@app.route("/me/preferences", method=["GET", "PUT"])
@app.get("/me/notifications")
def not_yet() -> Response[str]:
    _principal()
    return error_response(501, "not implemented yet")


@logger.inject_lambda_context(correlation_id_path="requestContext.requestId")
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
