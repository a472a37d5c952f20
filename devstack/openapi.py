"""The API's OpenAPI 3.1 document, generated from the Powertools resolvers of the API functions
and their pydantic models (`get_openapi_json_schema`), merged into one document for the one API
Gateway stage. `make openapi` writes docs/openapi.json; a test fails when it is stale.

The handlers answer through `json_response` (a str body), so Powertools cannot see their
answer shapes; the status codes each route documents (README, contract) are added here, with
the one error shape every route shares."""

from __future__ import annotations

import importlib
import json
import os
import sys
from pathlib import Path
from typing import Any

from devstack.template import REPO_ROOT

OUTPUT = REPO_ROOT / "docs" / "openapi.json"
RESOLVERS = (
    "functions.webhook_intake.app",
    "functions.devices.app",
    "functions.response_callback.app",
    "functions.approver.app",
    "functions.sign_in.app",
)
ERROR_SCHEMA = {
    "type": "object",
    "required": ["message"],
    "properties": {
        "message": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["path", "message"],
                "properties": {"path": {"type": "string"}, "message": {"type": "string"}},
            },
        },
    },
}
_APP_ERRORS = {
    "401": "missing, invalid or expired Firebase ID token",
    "422": "the request breaks the schema (field paths in `errors`)",
    "503": "AWS temporarily unavailable; retry after Retry-After",
}
# The approver's API reads Content Server as the caller (docs/design/approver-api.md).
_ECM_ERRORS = {
    "403": "the caller has no Content Server account (an external stakeholder)",
    "501": "reading Content Server as the user is not configured (act_as_user)",
    "502": "Content Server refused the sign-in made for the caller, or answered unreadably",
    "503": "Content Server or AWS temporarily unavailable; retry after Retry-After",
}
# (method, path) → extra documented answers, beyond Powertools' own 200/422.
ANSWERS: dict[tuple[str, str], dict[str, str]] = {
    ("post", "/ecm/events"): {
        "200": "duplicate: the same event id with the same content",
        "202": "accepted and enqueued",
        "207": "a batch `{events: [...]}`: one result per event, in order",
        "400": "not JSON",
        "401": "missing, malformed or wrong X-Ecmpush-Signature, or a stale timestamp",
        "403": "no valid x-api-key (API Gateway, before ecmpush runs)",
        "409": "same id with different content, or still being accepted",
        "413": "body over 256 KiB",
        "415": "Content-Type is not application/json",
        "422": "schema violation or unknown type",
    },
    ("put", "/devices/{installation_id}"): {
        "201": "registered",
        "200": "refreshed",
        "403": "audience external without the claim",
        **_APP_ERRORS,
    },
    ("delete", "/devices/{installation_id}"): {
        "204": "removed",
        "404": "not the caller's device",
        **_APP_ERRORS,
    },
    ("get", "/me/preferences"): {"200": "the caller's preferences", **_APP_ERRORS},
    ("put", "/me/preferences"): {"200": "saved", **_APP_ERRORS},
    ("get", "/me/notifications"): {
        "200": "newest first, with delivery and reply status",
        "400": "cursor from another inbox",
        **_APP_ERRORS,
    },
    ("post", "/me/notifications/{notification_id}/read"): {
        "200": "marked read (the first `read_at` is kept)",
        "404": "not a notification of the caller",
        **_APP_ERRORS,
    },
    ("post", "/me/notifications/read"): {
        "200": "`marked` entries read now; `more` when unread ones remain (call again)",
        **_APP_ERRORS,
    },
    ("post", "/me/receipts"): {
        "200": "one result per receipt, in order (recorded, unchanged, unknown_delivery, "
        "not_sent_yet: send again later, before_send), and their counts",
        "413": "body over 8 KiB",
        "422": "the request breaks the schema, has more than 25 receipts, or a receipt dated "
        "in the future (field paths in `errors`); nothing was recorded",
        "401": _APP_ERRORS["401"],
        "503": _APP_ERRORS["503"],
    },
    ("get", "/me/tasks"): {
        **_APP_ERRORS,
        **_ECM_ERRORS,
        "200": "the steps Content Server lists in the caller's inbox, overdue first",
    },
    ("get", "/me/tasks/{process_id}/{subprocess_id}/{task_id}"): {
        **_APP_ERRORS,
        **_ECM_ERRORS,
        "200": "the step, its actions and what happened so far",
        "404": "Content Server does not list the step in the caller's inbox",
    },
    ("get", "/me/documents/{node_id}/metadata"): {
        **_APP_ERRORS,
        **_ECM_ERRORS,
        "200": "the node as Content Server shows it to the caller",
        "403": "Content Server refuses the node to the caller (or the caller has no account)",
        "404": "no such node",
    },
    ("get", "/me/documents/{node_id}/content"): {
        **_APP_ERRORS,
        **_ECM_ERRORS,
        "200": "the document's bytes, with its MIME type (binary: ask with an Accept naming "
        "application/pdf, image/* or application/octet-stream)",
        "403": "Content Server refuses the document to the caller (or the caller has no account)",
        "404": "no such node",
        "413": "larger than `max_bytes` (4 MiB): open it in Content Server; body has `size`",
    },
    ("post", "/responses"): {
        "202": "applied in Content Server, or queued for the write-back worker",
        "403": "action token issued to another user, or action not offered",
        "409": "already answered, or the task is no longer open",
        "410": "the action token has expired",
        **_APP_ERRORS,
    },
    # The optional OTDS sign-in bridge (docs/sign-in.md): no ID token yet, it makes one.
    ("post", "/sign-in/otds/start"): {
        "200": "`{authorize_url, state}`: send the browser to OTDS",
        "400": "not UTF-8 JSON",
        "413": "body over 4 KiB",
        "422": "the request breaks the schema (field paths in `errors`)",
    },
    ("post", "/sign-in/otds/token"): {
        "200": "`{custom_token}` for signInWithCustomToken",
        "400": "not UTF-8 JSON; state not issued here or expired, verifier mismatch, or OTDS "
        "refused the code",
        "403": "the OTDS user may not sign in, or has no Content Server login",
        "413": "body over 4 KiB",
        "422": "the request breaks the schema (field paths in `errors`)",
        "502": "OTDS or Content Server unreachable or answering unexpectedly",
    },
}
SECURITY_SCHEMES = {
    "firebaseIdToken": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
    "ecmSignature": {
        "type": "apiKey",
        "in": "header",
        "name": "X-Ecmpush-Signature",
        "description": "t=<unix seconds>,v1=<hex HMAC-SHA256(secret, '<t>.<raw body>')>",
    },
    "ecmSenderApiKey": {
        "type": "apiKey",
        "in": "header",
        "name": "x-api-key",
        "description": "the ECM sender's API key (stack output WebhookApiKeyId, usage plan "
        "WebhookUsagePlan); API Gateway answers 403 without it",
    },
}


def _handler_environment() -> None:
    """Handler modules set up Logger and Metrics when imported: give them the template's plain
    POWERTOOLS_* values first, as Lambda would. Otherwise a process that builds the document
    (a unit test) keeps a Metrics without namespace for every handler it runs later."""
    from devstack import template as cfn

    variables = cfn.load()["Globals"]["Function"]["Environment"]["Variables"]
    for name, value in variables.items():
        if name.startswith("POWERTOOLS_") and isinstance(value, str):
            os.environ.setdefault(name, value)


def build() -> dict[str, Any]:
    """The merged document (see the module docstring)."""
    _handler_environment()
    document: dict[str, Any] = {}
    for module_name in RESOLVERS:
        app = importlib.import_module(module_name).app
        part = json.loads(
            app.get_openapi_json_schema(
                title="ecmpush API",
                version="1.0.0",
                description="OpenText Extended ECM events to FCM pushes, and replies back "
                "into ECM. Generated by `make openapi` from the Powertools resolvers.",
            )
        )
        if not document:
            document = {**part, "paths": {}, "components": {"schemas": {}}}
        document["paths"].update(part.get("paths", {}))
        document["components"]["schemas"].update(part.get("components", {}).get("schemas", {}))
    document["components"]["schemas"]["Error"] = ERROR_SCHEMA
    document["components"]["securitySchemes"] = SECURITY_SCHEMES
    for (method, path), answers in ANSWERS.items():
        operation = document["paths"][path][method]
        operation["security"] = (
            []
            if path.startswith("/sign-in/")
            else [
                {"ecmSignature": [], "ecmSenderApiKey": []}
                if path == "/ecm/events"
                else {"firebaseIdToken": []}
            ]
        )
        responses = operation.setdefault("responses", {})
        if "200" not in answers and method != "get":
            responses.pop("200", None)
        for status, description in answers.items():
            entry: dict[str, Any] = {"description": description}
            if status >= "400":
                entry["content"] = {
                    "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}
                }
            responses[status] = {**responses.get(status, {}), **entry}
    return document


def render() -> str:
    return json.dumps(build(), indent=2, sort_keys=True) + "\n"


def main(argv: list[str] | None = None) -> int:
    target = Path((argv or sys.argv[1:] or [str(OUTPUT)])[0])
    target.write_text(render())
    print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
