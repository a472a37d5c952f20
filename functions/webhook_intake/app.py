"""POST /ecm/events: authenticate the ECM sender, validate each event, accept it exactly once.

Checks run cheapest-first and never parse an unauthenticated body: content type (415), size
(413), signature (401), JSON (400), schema (422 per event)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from ecmpush import bootstrap
from ecmpush.entrypoints.http import UnreadableBody, error_response, json_response, raw_body
from ecmpush.entrypoints.observability import logger, metrics, tracer
from ecmpush.entrypoints.snapstart import prepare_snapshot
from ecmpush.entrypoints.webhook_body import (
    BodyError,
    BodyShapeInvalid,
    BodyTooLarge,
    BodyUnreadable,
)
from ecmpush.entrypoints.webhook_signature import InvalidSignature

app = APIGatewayRestResolver()
# SnapStart: the first request's lazy imports go into the snapshot (entrypoints/snapstart.py).
prepare_snapshot(
    "aws_lambda_powertools.utilities.idempotency",
    "ecmpush.adapters.idempotent_acceptance",
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
BODY_STATUS: dict[type[BodyError], int] = {
    BodyTooLarge: 413,
    BodyUnreadable: 400,
    BodyShapeInvalid: 422,
}
COUNTED = {
    "accepted": "EventsAccepted",
    "duplicate": "EventsDuplicate",
    "invalid": "EventsRejected",
}


def _raw_body() -> bytes:
    try:
        return raw_body(app.current_event.raw_event)
    except UnreadableBody as exc:
        raise BodyUnreadable(str(exc)) from None


@app.post("/ecm/events")
def receive_events() -> Response[str]:
    content_type = app.current_event.headers.get("content-type") or ""
    if content_type.split(";")[0].strip().lower() != "application/json":
        return error_response(415, "Content-Type must be application/json")
    signature = app.current_event.headers.get("x-ecmpush-signature")
    intake = bootstrap.build_intake()
    try:
        parsed = intake.reader.read(signature, _raw_body())
    except InvalidSignature as exc:
        logger.warning("webhook signature refused: %s", exc)
        return error_response(401, str(exc))
    except BodyError as exc:
        return error_response(BODY_STATUS[type(exc)], exc.message, exc.errors)
    results = [
        item.refusal() if item.event is None else intake.service.accept(item.event)
        for item in parsed.items
    ]
    for result in results:
        _log(result)
    if parsed.batch:
        return json_response(207, {"results": results})
    result = results[0]
    headers = {"Retry-After": "5"} if result["status"] == "unavailable" else None
    return json_response(STATUS_CODES[result["status"]], result, headers)


def _log(result: dict[str, Any]) -> None:
    status = result["status"]
    if status in COUNTED:
        metrics.add_metric(name=COUNTED[status], unit=MetricUnit.Count, value=1)
    if status not in ("invalid", "unavailable"):  # the service logs what it could not accept
        logger.info("event %s", status, extra={"event_id": result["id"]})


@logger.inject_lambda_context(correlation_id_path="requestContext.requestId")
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    bootstrap.build_intake().idempotency.register_lambda_context(context)
    return app.resolve(event, context)
