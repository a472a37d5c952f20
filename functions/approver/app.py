"""The approver's API for the app (issue 25), authenticated by a Firebase ID token like every
`/me/...` route: the workflow steps waiting for the caller, one step's view and history, and the
documents they open, all read from Content Server as the caller, so its inbox and permissions
decide. Why: docs/design/approver-api.md."""

from __future__ import annotations

import base64
from typing import Annotated, Any
from urllib.parse import quote

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.utilities.typing import LambdaContext

from ecmpush import bootstrap
from ecmpush.domain.approver.documents import DocumentMetadata
from ecmpush.domain.approver.steps import StepView, WaitingList
from ecmpush.domain.ecm.errors import (
    EcmAuthError,
    EcmContentTooLarge,
    EcmForbidden,
    EcmImpersonationOff,
    EcmNotFound,
    EcmProtocolError,
    EcmUnavailable,
)
from ecmpush.domain.ecm.task_ref import TaskRef
from ecmpush.entrypoints.answers import (
    ECM_ERRORS,
    FIREBASE_ID_TOKEN,
    DocumentTooLarge,
    app_documented,
    binary,
    model_response,
)
from ecmpush.entrypoints.app_api import app_resolver, authenticated
from ecmpush.entrypoints.http import error_response
from ecmpush.entrypoints.observability import logger, metrics, tracer
from ecmpush.entrypoints.snapstart import prepare_snapshot
from ecmpush.services.approver import InternalUsersOnly, NotYourStep

# How each refusal is answered: this API's one table.
app = app_resolver(
    (InternalUsersOnly, 403),
    (EcmForbidden, 403),
    (NotYourStep, 404),
    (EcmNotFound, 404),
)
# SnapStart: the first request's lazy imports go into the snapshot (entrypoints/snapstart.py).
prepare_snapshot(
    "ecmpush.adapters.id_token_verifier",
    "ecmpush.adapters.secrets",
    "ecmpush.adapters.ecm.client",
    "ecmpush.adapters.tracked_steps_repository",
    "ecmpush.services.approver",
)

# A Content Server id: a whole number of at most 19 digits (domain/ecm/task_ref.py).
ContentServerIdPath = Annotated[str, Path(pattern=r"^[0-9]{1,19}$")]


@app.get(
    "/me/tasks",
    operation_id="listTasks",
    summary="The workflow steps waiting for the caller, overdue first",
    description="Read from Content Server as the caller: its inbox decides what is listed.",
    tags=["tasks"],
    security=FIREBASE_ID_TOKEN,
    responses=app_documented(
        {**ECM_ERRORS, 200: ("the steps Content Server lists in the caller's inbox", WaitingList)}
    ),
)
def list_tasks() -> WaitingList:
    return bootstrap.build_approver().waiting(authenticated(app))


@app.get(
    "/me/tasks/<process_id>/<subprocess_id>/<task_id>",
    operation_id="getTask",
    summary="One of the caller's steps: its actions and what happened so far",
    tags=["tasks"],
    security=FIREBASE_ID_TOKEN,
    responses=app_documented(
        {
            **ECM_ERRORS,
            200: ("the step, its actions and its history", StepView),
            404: ("Content Server does not list the step in the caller's inbox", None),
        }
    ),
)
def get_task(
    process_id: ContentServerIdPath,
    subprocess_id: ContentServerIdPath,
    task_id: ContentServerIdPath,
) -> StepView:
    ref = TaskRef(process_id=process_id, subprocess_id=subprocess_id, task_id=task_id)
    return bootstrap.build_approver().step(authenticated(app), ref)


@app.get(
    "/me/documents/<node_id>/metadata",
    operation_id="getDocumentMetadata",
    summary="A document's name, type, size and dates, as Content Server shows it to the caller",
    tags=["documents"],
    security=FIREBASE_ID_TOKEN,
    responses=app_documented(
        {
            **ECM_ERRORS,
            200: ("the node as Content Server shows it to the caller", DocumentMetadata),
            403: ("Content Server refuses the node to the caller, or no account", None),
            404: ("no such node", None),
        }
    ),
)
def get_document_metadata(node_id: ContentServerIdPath) -> DocumentMetadata:
    return bootstrap.build_approver().document(authenticated(app), node_id)


@app.get(
    "/me/documents/<node_id>/content",
    operation_id="getDocumentContent",
    summary="A document's bytes, read from Content Server as the caller",
    description="Binary: ask with an Accept header naming application/pdf, image/* or "
    "application/octet-stream. Larger than `max_bytes` (4 MiB) is 413: open it in Content "
    "Server.",
    tags=["documents"],
    security=FIREBASE_ID_TOKEN,
    responses=app_documented(
        {
            **ECM_ERRORS,
            200: (
                "the document's bytes, with its MIME type",
                binary("application/pdf", "image/*", "application/octet-stream"),
            ),
            403: ("Content Server refuses the document to the caller, or no account", None),
            404: ("no such node", None),
            413: ("larger than the app may be sent: `size` and `max_bytes` say", DocumentTooLarge),
        }
    ),
)
def get_document_content(node_id: ContentServerIdPath) -> Response[str]:
    content = bootstrap.build_approver().content(authenticated(app), node_id)
    logger.info("document read", extra={"node_id": node_id, "bytes": len(content.data)})
    headers = {
        "Cache-Control": "private, no-store",
        "X-Content-Type-Options": "nosniff",
        "Content-Disposition": f"inline; filename*=UTF-8''{quote(content.file_name or node_id)}",
    }
    # Encoded here, not by Powertools: its response validation would turn bytes into text.
    response = Response(
        status_code=200,
        content_type=content.mime_type,
        body=base64.b64encode(content.data).decode("ascii"),
        headers=headers,
    )
    response.base64_encoded = True
    return response


@app.exception_handler(EcmContentTooLarge)
def _too_large(exc: EcmContentTooLarge) -> Response[str]:
    body = DocumentTooLarge(
        message=f"the document is larger than {exc.limit} bytes, more than the app can be sent; "
        "open it in Content Server",
        size=exc.size,
        max_bytes=exc.limit,
    )
    return model_response(413, body, given_only=True)


@app.exception_handler(EcmUnavailable)
def _ecm_unavailable(exc: EcmUnavailable) -> Response[str]:
    logger.warning("Content Server unavailable: %s", exc)
    response = error_response(503, "Content Server is temporarily unavailable; retry")
    response.headers["Retry-After"] = str(int(exc.retry_after or 5))
    return response


@app.exception_handler(EcmImpersonationOff)
def _impersonation_off(exc: EcmImpersonationOff) -> Response[str]:
    logger.error("approver API without impersonation: %s", exc)
    return error_response(501, "reading Content Server as the user is not configured")


@app.exception_handler(EcmAuthError)
def _ecm_auth(exc: EcmAuthError) -> Response[str]:
    logger.error("Content Server refused ecmpush's sign-in for the user: %s", exc)
    return error_response(502, "Content Server refused the sign-in made for you")


@app.exception_handler(EcmProtocolError)
def _ecm_protocol(exc: EcmProtocolError) -> Response[str]:
    logger.error("Content Server answer not understood: %s", exc)
    return error_response(502, "Content Server answered something ecmpush does not understand")


@logger.inject_lambda_context(correlation_id_path="requestContext.requestId")
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
