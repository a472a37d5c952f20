"""Device registration for the mobile/web app (contract §2), authenticated by a Firebase ID
token: devices, preferences (mutes, quiet hours), the notification history with its read marks,
and the receipts devices report for their pushes (docs/design/receipts.md)."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query
from aws_lambda_powertools.metrics import MetricUnit, single_metric
from aws_lambda_powertools.utilities.typing import LambdaContext

from ecmpush import bootstrap
from ecmpush.domain.delivery.devices import DeviceRegistration
from ecmpush.domain.delivery.installation_ids import (
    INSTALLATION_ID_PATTERN,
    NEW_INSTALLATION_ID_PATTERN,
)
from ecmpush.domain.delivery.preferences import Preferences
from ecmpush.domain.delivery.receipts import NOTIFICATION_ID_PATTERN, ReceiptBatch
from ecmpush.domain.page import InvalidCursor
from ecmpush.entrypoints.app_api import app_resolver, authenticated
from ecmpush.entrypoints.http import error_response, json_response
from ecmpush.entrypoints.observability import logger, metrics, tracer
from ecmpush.entrypoints.snapstart import prepare_snapshot
from ecmpush.services.devices import DeviceConflict, Forbidden, WeakInstallationId
from ecmpush.services.receipts import FirstOpen, ReceiptsRefused

# How each refusal is answered: this API's one table (contract §2).
app = app_resolver((Forbidden, 403), (DeviceConflict, 409), (InvalidCursor, 400))
# SnapStart: the first request's lazy imports go into the snapshot (entrypoints/snapstart.py).
prepare_snapshot(
    "ecmpush.adapters.id_token_verifier",
    "ecmpush.adapters.secrets",
    "ecmpush.adapters.devices_repository",
    "ecmpush.services.devices",
    "ecmpush.services.me",
    "ecmpush.services.receipts",
    "ecmpush.adapters.receipts_repository",
)

InstallationId = Annotated[str, Path(pattern=INSTALLATION_ID_PATTERN)]
# A new registration: random-looking ids only (issue 9); the distinct-character rule is below.
NewInstallationId = Annotated[str, Path(pattern=NEW_INSTALLATION_ID_PATTERN)]
NotificationId = Annotated[str, Path(pattern=NOTIFICATION_ID_PATTERN)]


@app.put("/devices/<installation_id>")
def put_device(
    installation_id: NewInstallationId, registration: Annotated[DeviceRegistration, Body()]
) -> Response[str]:
    principal = authenticated(app)
    device, created = bootstrap.build_devices().devices.register(
        principal, installation_id, registration
    )
    logger.info(
        "device registered",
        extra={"installation_id": installation_id, "new": created, "platform": device.platform},
    )
    body = device.model_dump(mode="json", exclude={"token"})
    return json_response(201 if created else 200, body)


@app.delete("/devices/<installation_id>")
def delete_device(installation_id: InstallationId) -> Response[str]:
    principal = authenticated(app)
    if not bootstrap.build_devices().devices.unregister(principal, installation_id):
        return error_response(404, "no such device for this user")
    return Response(status_code=204, content_type="application/json", body="")


@app.exception_handler(WeakInstallationId)
def _weak_installation_id(exc: WeakInstallationId) -> Response[str]:
    # Said like a schema error: the id is part of the request's shape (issue 9).
    errors = [{"path": "installation_id", "message": str(exc)}]
    return error_response(422, "request does not match the schema", errors)


@app.get("/me/preferences")
def get_preferences() -> Response[str]:
    preferences = bootstrap.build_devices().me.preferences(authenticated(app))
    return json_response(200, preferences.model_dump(mode="json"))


@app.put("/me/preferences")
def put_preferences(preferences: Annotated[Preferences, Body()]) -> Response[str]:
    saved = bootstrap.build_devices().me.set_preferences(authenticated(app), preferences)
    return json_response(200, saved.model_dump(mode="json"))


@app.get("/me/notifications")
def list_notifications(
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=2048)] = None,
) -> Response[str]:
    me = bootstrap.build_devices().me
    principal = authenticated(app)
    page = me.notifications(principal, limit, cursor)
    return json_response(
        200,
        {
            "notifications": list(page.items),
            "next_cursor": page.cursor,
            "unread": me.unread(principal),
        },
    )


@app.post("/me/notifications/<notification_id>/read")
def mark_read(notification_id: NotificationId) -> Response[str]:
    read_at = bootstrap.build_devices().me.mark_read(authenticated(app), notification_id)
    if read_at is None:
        return error_response(404, "no such notification for this user")
    return json_response(200, {"notification_id": notification_id, "read_at": read_at})


@app.post("/me/notifications/read")
def mark_all_read() -> Response[str]:
    marked, more = bootstrap.build_devices().me.mark_all_read(authenticated(app))
    return json_response(200, {"marked": marked, "more": more})


@app.post("/me/receipts")
def post_receipts(batch: Annotated[ReceiptBatch, Body()]) -> Response[str]:
    report = bootstrap.build_devices().receipts.report(authenticated(app), batch)
    for first_open in report.first_opens:
        _time_to_open(first_open)
    logger.info("receipts", extra={"receipts": len(batch.receipts), "writes": report.writes})
    return json_response(200, report.body())


def _time_to_open(first_open: FirstOpen) -> None:
    """TimeToOpen per flow and stage (its own dimensions, so not on the shared `metrics`)."""
    dimensions = {"flow": first_open.flow, "stage": first_open.stage}
    with single_metric(
        name="TimeToOpen",
        unit=MetricUnit.Seconds,
        value=first_open.seconds,
        default_dimensions=dimensions,
    ):
        pass


@app.exception_handler(ReceiptsRefused)
def _receipts_refused(exc: ReceiptsRefused) -> Response[str]:
    return error_response(422, "receipts refused; nothing was recorded", exc.errors)


@logger.inject_lambda_context(correlation_id_path="requestContext.requestId")
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
