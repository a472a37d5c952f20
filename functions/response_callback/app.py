"""POST /responses: a user's answer from a push (contract §3), written back to the ECM workflow
now, or queued for the write-back worker when Content Server cannot take it right away."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from ecmpush import bootstrap
from ecmpush.clock import rfc3339
from ecmpush.domain.replies.action_token import ActionTokenExpired, ActionTokenInvalid
from ecmpush.domain.replies.requests import ReplyConflict, ReplyForbidden, ReplyRequest
from ecmpush.entrypoints.answers import (
    FIREBASE_ID_TOKEN,
    ReplyAccepted,
    ReplySnoozed,
    app_documented,
    model_response,
)
from ecmpush.entrypoints.app_api import app_resolver, authenticated
from ecmpush.entrypoints.observability import logger, metrics, tracer
from ecmpush.entrypoints.snapstart import prepare_snapshot

# How each refusal is answered: this API's one table (contract §3).
app = app_resolver(
    (ActionTokenInvalid, 401),
    (ActionTokenExpired, 410),
    (ReplyForbidden, 403),
    (ReplyConflict, 409),
)
# SnapStart: the first request's lazy imports go into the snapshot (entrypoints/snapstart.py).
prepare_snapshot(
    "ecmpush.adapters.id_token_verifier",
    "ecmpush.adapters.ecm.client",
    "ecmpush.adapters.secrets",
    "ecmpush.adapters.devices_repository",
    "ecmpush.adapters.replies_repository",
    "ecmpush.services.response_callback",
)


@app.post(
    "/responses",
    operation_id="postResponse",
    summary="Answer a push: approve, reject, acknowledge or ask for info",
    description="`action_token` is the one the push carried (single use, for its recipient and "
    "the actions it was sent with). The reply is written back to the Content Server task as the "
    "user, or queued when Content Server cannot take it now, and never lost.",
    tags=["replies"],
    security=FIREBASE_ID_TOKEN,
    responses=app_documented(
        {
            202: (
                "applied in Content Server, or queued for the write-back worker; or snoozed",
                ReplyAccepted | ReplySnoozed,
            ),
            401: ("bad ID token, or an action token that is malformed or not ecmpush's", None),
            403: ("the action token names another user, or the action was not offered", None),
            409: ("already answered, or the task is no longer open", None),
            410: ("the action token has expired", None),
        }
    ),
)
def post_response(request: Annotated[ReplyRequest, Body()]) -> Response[str]:
    principal = authenticated(app)
    service = bootstrap.build_response_callback()
    if request.action == "snooze":
        until = service.snooze(principal, request)
        metrics.add_metric(name="Snoozes", unit=MetricUnit.Count, value=1)
        snoozed = ReplySnoozed(status="snoozed", snoozed_until=rfc3339(until))
        return model_response(202, snoozed)
    reply = service.accept(principal, request)
    status = service.apply_or_queue(reply)
    metrics.add_metric(name=f"Replies_{status.value}", unit=MetricUnit.Count, value=1)
    logger.info(
        "reply accepted",
        extra={"response_id": reply.response_id, "action": reply.action, "status": status.value},
    )
    body = ReplyAccepted.model_validate({"response_id": reply.response_id, "status": status})
    return model_response(202, body)


@logger.inject_lambda_context(correlation_id_path="requestContext.requestId")
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
