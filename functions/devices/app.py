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
from ecmpush.domain.delivery.devices import DeviceRegistration, RegisteredDevice
from ecmpush.domain.delivery.installation_ids import (
    INSTALLATION_ID_PATTERN,
    NEW_INSTALLATION_ID_PATTERN,
)
from ecmpush.domain.delivery.preferences import Preferences
from ecmpush.domain.delivery.receipts import NOTIFICATION_ID_PATTERN, ReceiptBatch
from ecmpush.domain.page import InvalidCursor
from ecmpush.entrypoints.answers import (
    FIREBASE_ID_TOKEN,
    NO_BODY,
    NotificationPage,
    NotificationRead,
    NotificationsRead,
    ReceiptsReport,
    app_documented,
    model_response,
)
from ecmpush.entrypoints.app_api import app_resolver, authenticated
from ecmpush.entrypoints.http import error_response
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


@app.put(
    "/devices/<installation_id>",
    operation_id="registerDevice",
    summary="Register or refresh this installation's FCM token",
    description="The installation id is chosen at random by the app (a UUID, or at least 16 "
    "characters of [A-Za-z0-9_-] with at least 6 different ones). An installation or FCM token "
    "held by another user is 409 unless the request carries the FCM token it holds. "
    "`audience: external` needs the `ecm_external` claim; the external id comes from the token.",
    tags=["devices"],
    security=FIREBASE_ID_TOKEN,
    responses=app_documented(
        {
            200: ("refreshed: the device, without its FCM token", RegisteredDevice),
            201: ("registered: the device, without its FCM token", RegisteredDevice),
            403: ("`audience: external` without the external id claim", None),
            409: ("the installation or the FCM token is held by another user", None),
        }
    ),
)
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
    body = RegisteredDevice.model_validate(device.model_dump(exclude={"token"}))
    return model_response(201 if created else 200, body)


@app.delete(
    "/devices/<installation_id>",
    operation_id="unregisterDevice",
    summary="Remove one of the caller's installations",
    tags=["devices"],
    security=FIREBASE_ID_TOKEN,
    responses=app_documented(
        {
            204: ("removed", NO_BODY),
            404: ("no such installation of the caller's", None),
        }
    ),
)
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


@app.get(
    "/me/preferences",
    operation_id="getPreferences",
    summary="The caller's muted categories and quiet hours",
    tags=["preferences"],
    security=FIREBASE_ID_TOKEN,
    responses=app_documented({200: ("the caller's preferences", Preferences)}),
)
def get_preferences() -> Response[str]:
    preferences = bootstrap.build_devices().me.preferences(authenticated(app))
    return model_response(200, preferences)


@app.put(
    "/me/preferences",
    operation_id="putPreferences",
    summary="Replace the caller's muted categories and quiet hours",
    description="Quiet hours last at most 12 hours on the wall clock of their time zone.",
    tags=["preferences"],
    security=FIREBASE_ID_TOKEN,
    responses=app_documented({200: ("saved: the preferences as stored", Preferences)}),
)
def put_preferences(preferences: Annotated[Preferences, Body()]) -> Response[str]:
    saved = bootstrap.build_devices().me.set_preferences(authenticated(app), preferences)
    return model_response(200, saved)


@app.get(
    "/me/notifications",
    operation_id="listNotifications",
    summary="The caller's notifications, newest first, with delivery and reply status",
    description="Page with `cursor` = the previous page's `next_cursor`; a cursor only pages "
    "the inbox it came from.",
    tags=["notifications"],
    security=FIREBASE_ID_TOKEN,
    responses=app_documented(
        {
            200: ("a page of the inbox", NotificationPage),
            400: ("the body is not UTF-8 JSON, or the cursor is not one of this inbox", None),
        }
    ),
)
def list_notifications(
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=2048)] = None,
) -> Response[str]:
    me = bootstrap.build_devices().me
    principal = authenticated(app)
    page = me.notifications(principal, limit, cursor)
    body = NotificationPage.model_validate(
        {
            "notifications": list(page.items),
            "next_cursor": page.cursor,
            "unread": me.unread(principal),
        }
    )
    return model_response(200, body)


@app.post(
    "/me/notifications/<notification_id>/read",
    operation_id="markNotificationRead",
    summary="Mark one of the caller's notifications read",
    tags=["notifications"],
    security=FIREBASE_ID_TOKEN,
    responses=app_documented(
        {
            200: ("marked read (the first `read_at` is kept)", NotificationRead),
            404: ("not a notification of the caller", None),
        }
    ),
)
def mark_read(notification_id: NotificationId) -> Response[str]:
    read_at = bootstrap.build_devices().me.mark_read(authenticated(app), notification_id)
    if read_at is None:
        return error_response(404, "no such notification for this user")
    body = NotificationRead(notification_id=notification_id, read_at=read_at)
    return model_response(200, body)


@app.post(
    "/me/notifications/read",
    operation_id="markAllNotificationsRead",
    summary="Mark the caller's unread notifications read, a bounded number per call",
    tags=["notifications"],
    security=FIREBASE_ID_TOKEN,
    responses=app_documented(
        {200: ("how many were marked; `more`: call again", NotificationsRead)}
    ),
)
def mark_all_read() -> Response[str]:
    marked, more = bootstrap.build_devices().me.mark_all_read(authenticated(app))
    return model_response(200, NotificationsRead(marked=marked, more=more))


@app.post(
    "/me/receipts",
    operation_id="postReceipts",
    summary="Report what the device did with pushes: received, displayed, opened, dismissed",
    tags=["notifications"],
    security=FIREBASE_ID_TOKEN,
    responses=app_documented(
        {
            200: (
                "one result per receipt, in order (recorded, unchanged, unknown_delivery, "
                "not_sent_yet: send again later, before_send), and their counts",
                ReceiptsReport,
            ),
            422: (
                "the request breaks the schema, has more than 25 receipts, or a receipt dated "
                "in the future (field paths in `errors`); nothing was recorded",
                None,
            ),
        }
    ),
)
def post_receipts(batch: Annotated[ReceiptBatch, Body()]) -> Response[str]:
    report = bootstrap.build_devices().receipts.report(authenticated(app), batch)
    for first_open in report.first_opens:
        _time_to_open(first_open)
    logger.info("receipts", extra={"receipts": len(batch.receipts), "writes": report.writes})
    return model_response(200, ReceiptsReport.model_validate(report.body()))


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
