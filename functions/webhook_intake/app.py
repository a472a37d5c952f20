"""POST /ecm/events: authenticate the ECM sender, validate each event, accept it exactly once.

Checks run cheapest-first and never parse an unauthenticated body: content type (415), size
(413), signature (401), JSON (400), schema (422 per event)."""

from __future__ import annotations

import base64
import time
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from ecmpush import bootstrap
from ecmpush.domain import webhook_signature
from ecmpush.domain.webhook_body import BodyError, ParsedItem, check_size, parse_body
from ecmpush.http import error_response, json_response
from ecmpush.observability import logger, metrics, tracer
from ecmpush.snapstart import prepare_snapshot

app = APIGatewayRestResolver()
# SnapStart: the first request's lazy imports go into the snapshot (ecmpush/snapstart.py).
prepare_snapshot(
    "aws_lambda_powertools.utilities.idempotency",
    "ecmpush.adapters.secrets",
    "ecmpush.adapters.events_repository",
    "ecmpush.adapters.sqs_publisher",
    "ecmpush.services.webhook_intake",
)

# HTTP status of a single-event answer; a batch answers 207 with one status per event.
STATUS_CODES = {
    "accepted": 202,
    "duplicate": 200,
    "invalid": 422,
    "conflict": 409,
    "in_progress": 409,
    "unavailable": 503,
}


def _raw_body() -> bytes:
    raw = app.current_event.get("body") or ""
    if app.current_event.get("isBase64Encoded"):
        try:
            return base64.b64decode(str(raw), validate=True)
        except ValueError:  # binascii.Error
            raise BodyError(400, "body is not valid base64") from None
    return str(raw).encode("utf-8", "surrogatepass")


def _not_accepted(item: ParsedItem, exc: Exception) -> dict[str, Any]:
    """The answer for an event the idempotent accept raised on; anything else is re-raised.

    The exception classes are imported here, not at module level: importing Powertools'
    idempotency package loads its DynamoDB persistence layer and with it boto3, which is the
    first request's cost (bootstrap.accept_event_once imports both anyway), not init's."""
    from aws_lambda_powertools.utilities.idempotency.exceptions import (
        IdempotencyAlreadyInProgressError,
        IdempotencyPersistenceLayerError,
        IdempotencyValidationError,
    )
    from botocore.exceptions import BotoCoreError, ClientError

    if isinstance(exc, IdempotencyValidationError):
        return {
            "id": item.id,
            "status": "conflict",
            "errors": [{"path": "id", "message": "id was already used for a different event"}],
        }
    if isinstance(exc, IdempotencyAlreadyInProgressError):
        return {"id": item.id, "status": "in_progress"}
    if isinstance(exc, BotoCoreError | ClientError | IdempotencyPersistenceLayerError):
        # Nothing was acknowledged: Powertools dropped its in-progress record, so the sender's
        # retry runs the whole acceptance again (the event put is an overwrite of the same item).
        logger.exception("event not accepted", extra={"event_id": item.id})
        return {"id": item.id, "status": "unavailable", "message": "temporarily unavailable; retry"}
    raise exc


def _handle(item: ParsedItem) -> dict[str, Any]:
    if item.event is None:
        metrics.add_metric(name="EventsRejected", unit=MetricUnit.Count, value=1)
        return {"id": item.id, "status": "invalid", "errors": item.errors}
    try:
        result: dict[str, Any] = bootstrap.accept_event_once()(event=item.event)
    except Exception as exc:  # classified by _not_accepted; anything else is re-raised
        return _not_accepted(item, exc)
    metrics.add_metric(
        name="EventsAccepted" if result["status"] == "accepted" else "EventsDuplicate",
        unit=MetricUnit.Count,
        value=1,
    )
    logger.info("event %s", result["status"], extra={"event_id": item.id, "type": item.event.type})
    return result


def _verify_signature(body: bytes) -> None:
    header = app.current_event.headers.get("x-ecmpush-signature")
    try:
        webhook_signature.verify(header, body, bootstrap.webhook_secrets(), now=time.time())
    except webhook_signature.SignatureMismatch:
        # The secret may have rotated after this container cached it: re-read once, then decide.
        fresh = bootstrap.refreshed_webhook_secrets()
        if fresh is None:
            raise
        webhook_signature.verify(header, body, fresh, now=time.time())


@app.post("/ecm/events")
def receive_events() -> Response[str]:
    content_type = app.current_event.headers.get("content-type") or ""
    if content_type.split(";")[0].strip().lower() != "application/json":
        return error_response(415, "Content-Type must be application/json")
    try:
        body = _raw_body()
        check_size(body)
        _verify_signature(body)
    except webhook_signature.InvalidSignature as exc:
        logger.warning("webhook signature refused: %s", exc)
        return error_response(401, str(exc))
    except BodyError as exc:
        return error_response(exc.status, exc.message, exc.errors)
    try:
        parsed = parse_body(body, bootstrap.recipient_caps())
    except BodyError as exc:
        return error_response(exc.status, exc.message, exc.errors)
    results = [_handle(item) for item in parsed.items]
    if parsed.batch:
        return json_response(207, {"results": results})
    result = results[0]
    headers = {"Retry-After": "5"} if result["status"] == "unavailable" else None
    return json_response(STATUS_CODES[result["status"]], result, headers)


@logger.inject_lambda_context(correlation_id_path="requestContext.requestId")
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    bootstrap.intake_idempotency_config().register_lambda_context(context)
    return app.resolve(event, context)
