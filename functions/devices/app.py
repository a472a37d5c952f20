"""Device registration for the mobile/web app (contract §2), authenticated by a Firebase ID
token: devices, preferences (mutes, quiet hours) and the notification history."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query
from aws_lambda_powertools.utilities.typing import LambdaContext

from ecmpush import bootstrap
from ecmpush.domain.delivery.devices import DeviceRegistration, RegisteredDevice
from ecmpush.domain.delivery.installation_ids import (
    INSTALLATION_ID_PATTERN,
    NEW_INSTALLATION_ID_PATTERN,
)
from ecmpush.domain.delivery.preferences import Preferences
from ecmpush.domain.page import InvalidCursor
from ecmpush.entrypoints.answers import (
    FIREBASE_ID_TOKEN,
    NO_BODY,
    NotificationPage,
    app_documented,
    model_response,
)
from ecmpush.entrypoints.app_api import app_resolver, authenticated
from ecmpush.entrypoints.http import error_response
from ecmpush.entrypoints.observability import logger, metrics, tracer
from ecmpush.entrypoints.snapstart import prepare_snapshot
from ecmpush.services.devices import DeviceConflict, Forbidden, WeakInstallationId

# How each refusal is answered: this API's one table (contract §2).
app = app_resolver((Forbidden, 403), (DeviceConflict, 409), (InvalidCursor, 400))
# SnapStart: the first request's lazy imports go into the snapshot (entrypoints/snapstart.py).
prepare_snapshot(
    "ecmpush.adapters.id_token_verifier",
    "ecmpush.adapters.secrets",
    "ecmpush.adapters.devices_repository",
    "ecmpush.services.devices",
    "ecmpush.services.me",
)

InstallationId = Annotated[str, Path(pattern=INSTALLATION_ID_PATTERN)]
# A new registration: random-looking ids only (issue 9); the distinct-character rule is below.
NewInstallationId = Annotated[str, Path(pattern=NEW_INSTALLATION_ID_PATTERN)]


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
    page = bootstrap.build_devices().me.notifications(authenticated(app), limit, cursor)
    body = NotificationPage.model_validate(
        {"notifications": list(page.items), "next_cursor": page.cursor}
    )
    return model_response(200, body)


@logger.inject_lambda_context(correlation_id_path="requestContext.requestId")
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
