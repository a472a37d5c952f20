"""Device registration for the mobile/web app (contract §2), authenticated by a Firebase ID
token. `/me/preferences` and `/me/notifications` answer 501 until their flow lands."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Path
from aws_lambda_powertools.utilities.typing import LambdaContext

from ecmpush import bootstrap
from ecmpush.app_api import app_resolver, authenticated
from ecmpush.domain.devices import INSTALLATION_ID_PATTERN, DeviceRegistration
from ecmpush.http import error_response, json_response
from ecmpush.observability import logger, metrics, tracer
from ecmpush.services.devices import Forbidden

app = app_resolver((Forbidden, 403))

InstallationId = Annotated[str, Path(pattern=INSTALLATION_ID_PATTERN)]


@app.put("/devices/<installation_id>")
def put_device(
    installation_id: InstallationId, registration: Annotated[DeviceRegistration, Body()]
) -> Response[str]:
    principal = authenticated(app)
    device, created = bootstrap.devices_service().register(principal, installation_id, registration)
    logger.info(
        "device registered",
        extra={"installation_id": installation_id, "created": created, "platform": device.platform},
    )
    body = device.model_dump(mode="json", exclude={"token"})
    return json_response(201 if created else 200, body)


@app.delete("/devices/<installation_id>")
def delete_device(installation_id: InstallationId) -> Response[str]:
    principal = authenticated(app)
    if not bootstrap.devices_service().unregister(principal, installation_id):
        return error_response(404, "no such device for this user")
    return Response(status_code=204, content_type="application/json", body="")


@app.route("/me/preferences", method=["GET", "PUT"])
@app.get("/me/notifications")
def not_yet() -> Response[str]:
    authenticated(app)
    return error_response(501, "not implemented yet")


@logger.inject_lambda_context(correlation_id_path="requestContext.requestId")
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
