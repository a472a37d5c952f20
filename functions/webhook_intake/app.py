"""POST /ecm/events: authenticate the ECM sender, validate each event, accept it exactly once.

Checks run cheapest-first and never parse an unauthenticated body: content type (415), size
(413), signature (401), JSON (400), schema (422 per event)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from ecmpush import bootstrap
from ecmpush.entrypoints.answers import (
    BatchResults,
    ErrorBody,
    EventResult,
    documented,
    model_response,
)
from ecmpush.entrypoints.http import UnreadableBody, error_response, raw_body
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


@app.post(
    "/ecm/events",
    operation_id="postEcmEvents",
    summary="Post one ECM event, or a batch of up to 50",
    description="Called by ECM-side senders (the relay, a WebReport, a workflow script). "
    "Checked cheapest first: Content-Type (415), size (413), signature (401), JSON (400), "
    "schema (422). The event `id` is the idempotency key: the same id and content again is "
    "`duplicate`, nothing is queued twice.",
    tags=["ecm"],
    security=[{"ecmSignature": [], "ecmSenderApiKey": []}],
    responses=documented(
        {
            200: ("duplicate: the same event id with the same content", EventResult),
            202: ("accepted and queued for dispatch", EventResult),
            207: ("a batch `{events: [...]}`: one result per event, in order", BatchResults),
            400: ("the body is not UTF-8 JSON", None),
            401: ("missing, malformed or wrong X-Ecmpush-Signature, or a stale timestamp", None),
            403: ("no valid x-api-key (API Gateway answers before ecmpush runs)", None),
            409: ("the same id with other content, or still being accepted", EventResult),
            413: ("the body is over 256 KiB, or names too many recipients in all", None),
            415: ("Content-Type is not application/json", None),
            422: (
                "the event breaks the schema (an EventResult with `errors`), or the body's "
                "shape is wrong (an ErrorBody)",
                EventResult | ErrorBody,
            ),
            503: ("AWS is unavailable for now; retry after Retry-After", EventResult),
        }
    ),
)
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
        batch = BatchResults.model_validate({"results": results})
        return model_response(207, batch, given_only=True)
    single = EventResult.model_validate(results[0])
    headers = {"Retry-After": "5"} if single.status == "unavailable" else None
    return model_response(STATUS_CODES[single.status], single, headers, given_only=True)


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
