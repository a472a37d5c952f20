"""`forward`: the relay's listener for ECM-side scripts that can make an HTTP POST but cannot
compute HMAC-SHA256 (a WebReport with an HTTP destination, a workflow event script). Both routes
take `Authorization: Bearer <forward token>`:

- `POST /steps` (announce; what a script should use for a workflow step): the step's ids only,
  `process_id`, `subprocess_id`, `task_id`, form-encoded (`application/x-www-form-urlencoded`)
  or as a JSON object, at most 1 KiB. The relay reads the step from Content Server exactly as
  `poll` does and posts its signed `task.assigned` events (one per holder), byte for byte what
  `poll` would post, so the two never clash. It answers what happened (`Announcement`): 202
  accepted, 200 duplicate, 404 unknown step, 409 not current / no holder, 422 map not watched,
  400/411/413/415 for a request it cannot read, 503 (`Retry-After`) when Content Server or the
  webhook cannot be reached now (nothing recorded as delivered: send the same request again),
  502 when either refused the relay (its credentials or configuration: an administrator's job).
- `POST /events` (raw forward, for other event types): off unless the administrator lists event
  types in `forward_event_types` (never the workflow's own `task.*`: an event may not say who
  holds a step). Off, it answers 403 and reads nothing; on, a UTF-8 JSON body up to 256 KiB (one
  event or a batch) whose every event has a listed `type` is signed unchanged and forwarded (the
  answer is the webhook's), any other is refused whole (403, the refused `fields`). The body is
  the script's own text: a value substituted into it unescaped (a title with `"` or `\\`)
  makes it invalid JSON (400, nothing sent) or a different event. Prefer `/steps` wherever the
  event is about a step.

Run it inside the ECM network only (it turns a shared token into a valid signature); it listens
on loopback unless told otherwise."""

from __future__ import annotations

import hmac
import json
import logging
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import parse_qsl

import requests

from ecmpush.domain.ecm.errors import EcmError, EcmUnavailable
from ecmpush.domain.ecm.task_ref import TASK_ID_FIELDS, TaskRef
from ecmpush.privacy import who
from senders.relay.config import RelayConfig, ecm_client
from senders.relay.poller import Announcement, Deliver, RunningWorkflows, announce
from senders.relay.webhook import deliver as post_events
from senders.relay.webhook import post_body

log = logging.getLogger(__name__)
MAX_BODY = 256 * 1024  # the webhook's own limit (contract §1)
MAX_ANNOUNCE = 1024  # three ids and their names fit many times over
RETRY_AFTER_S = "30"
STEP_FIELDS = TASK_ID_FIELDS
MAX_FIELDS = 10  # enough to name what is wrong; more is refused unread
_ID = re.compile(r"[1-9][0-9]{0,17}")  # a positive integer Content Server can hold (< 10^18)
_FORM = "application/x-www-form-urlencoded"
_JSON = "application/json"

StartResponse = Callable[[str, list[tuple[str, str]]], Any]
App = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]
_REASONS = {
    200: "OK",
    202: "Accepted",
    207: "Multi-Status",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    408: "Request Timeout",
    409: "Conflict",
    411: "Length Required",
    413: "Content Too Large",
    415: "Unsupported Media Type",
    422: "Unprocessable Content",
    502: "Bad Gateway",
    503: "Service Unavailable",
}
ANNOUNCED = {
    "accepted": 202,
    "duplicate": 200,
    "unknown_step": 404,
    "not_current": 409,
    "no_holder": 409,
    "not_watched": 422,
    "pending": 503,
    "refused": 502,
}


class BadRequest(Exception):
    def __init__(self, status: int, message: str, fields: Iterable[str] = ()) -> None:
        super().__init__(message)
        self.status = status
        self.fields = sorted(fields)


def _answer(
    start_response: StartResponse,
    status: int,
    body: Mapping[str, Any] | bytes,
    *,
    retry_after: str | None = None,
) -> Iterable[bytes]:
    payload = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))]
    if retry_after:
        headers.append(("Retry-After", retry_after))
    start_response(f"{status} {_REASONS.get(status, 'Error')}", headers)
    return [payload]


def _read_body(environ: Mapping[str, Any], limit: int) -> bytes:
    raw = str(environ.get("CONTENT_LENGTH") or "").strip()
    if not raw:
        raise BadRequest(411, "Content-Length is required")
    if not raw.isdigit():
        raise BadRequest(400, "bad Content-Length")
    length = int(raw)
    if length > limit:
        raise BadRequest(413, f"body larger than {limit} bytes")
    try:
        body: bytes = environ["wsgi.input"].read(length)
    except TimeoutError:  # the server's per-connection timeout (server.py)
        raise BadRequest(408, "body not received in time") from None
    if len(body) != length:
        raise BadRequest(400, "body shorter than its Content-Length")
    return body


def _media_type(environ: Mapping[str, Any]) -> str:
    media, _, params = str(environ.get("CONTENT_TYPE") or "").partition(";")
    charset = ""
    for param in params.split(";"):
        name, _, value = param.strip().partition("=")
        if name.lower() == "charset":
            charset = value.strip().strip('"').lower()
    if charset not in ("", "utf-8"):
        raise BadRequest(415, "only UTF-8 bodies are read")
    return media.strip().lower()


def step_ref(body: bytes, media: str) -> TaskRef:
    """The step a `POST /steps` body names: exactly `process_id`, `subprocess_id`, `task_id`,
    each a positive integer (form values or JSON strings of digits; JSON numbers too)."""
    try:
        text = body.decode("utf-8").strip()  # a reportview's output ends with a newline
    except UnicodeDecodeError:
        raise BadRequest(400, "body is not UTF-8") from None
    values: dict[str, Any] = {}
    if media == _FORM:
        try:
            pairs = parse_qsl(
                text, keep_blank_values=True, strict_parsing=True, max_num_fields=MAX_FIELDS
            )
        except ValueError:
            raise BadRequest(400, "not a form body of process_id, subprocess_id, task_id") from None
        for name, value in pairs:
            if name in values:
                raise BadRequest(400, f"{name} given twice", [name])
            values[name] = value
    elif media == _JSON:
        try:
            parsed = json.loads(text)
        except ValueError:
            raise BadRequest(400, "body is not JSON") from None
        if not isinstance(parsed, dict):
            raise BadRequest(400, "the JSON body must be an object")
        values = parsed
    else:
        raise BadRequest(415, f"Content-Type must be {_FORM} or {_JSON}")
    unknown = set(values) - set(STEP_FIELDS)
    if unknown:
        raise BadRequest(400, "only process_id, subprocess_id and task_id are read", unknown)
    missing = [name for name in STEP_FIELDS if name not in values]
    if missing:
        raise BadRequest(400, f"missing {', '.join(missing)}", missing)
    wrong = [name for name in STEP_FIELDS if not _is_id(values[name])]
    if wrong:
        raise BadRequest(400, "ids must be positive integers", wrong)
    return TaskRef.model_validate({name: values[name] for name in STEP_FIELDS})


def _is_id(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return 0 < value < 10**18
    return isinstance(value, str) and _ID.fullmatch(value) is not None


def refused_types(body: bytes, allowed: frozenset[str]) -> list[str]:
    """The fields of a `/events` body whose event type is not in `allowed` (`type`, or
    `events[i].type` in a batch); empty when every event may be forwarded. Reads the body as the
    webhook does (`entrypoints/webhook_body.parse_body`: a batch is an object with `events` and no
    `type`), so what is checked here is what the webhook will act on; but only as UTF-8 without a
    BOM, so no other decoding can read it differently."""
    try:
        document = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise BadRequest(400, "body is not UTF-8 JSON") from None
    if isinstance(document, dict) and "events" in document and "type" not in document:
        batch = document["events"]
        if not isinstance(batch, list):
            raise BadRequest(400, "'events' must be a list of events", ["events"])
        typed = [(f"events[{i}].type", event) for i, event in enumerate(batch)]
    else:
        typed = [("type", document)]
    return [
        path
        for path, event in typed
        if not isinstance(event, dict) or event.get("type") not in allowed
    ]


def forward_app(
    config: RelayConfig,
    ecm: RunningWorkflows | None = None,
    *,
    deliver: Deliver | None = None,
) -> App:
    """The listener. `ecm` reads steps for `/steps` (default: a client of the configured
    Content Server as the relay's service account); `deliver` posts their events (default: the
    signed batch post `poll` uses)."""
    token = config.forward_token
    if not token:
        raise ValueError("forward needs forward_token_env in the relay configuration")
    expected = f"Bearer {token}".encode()
    reader: RunningWorkflows = ecm if ecm is not None else ecm_client(config)
    send: Deliver = deliver or (
        lambda events: post_events(
            config.webhook_url, config.webhook_secret, events, api_key=config.webhook_api_key
        )
    )

    allowed = config.forward_event_types

    def forward(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if not allowed:
            log.warning("POST /events refused: forward_event_types is empty")
            return _answer(
                start_response,
                403,
                {
                    "error": "POST /events is off on this relay: announce workflow steps with "
                    "POST /steps; other event types only if the administrator lists them in "
                    "forward_event_types",
                    "allowed": [],
                },
            )
        body = _read_body(environ, MAX_BODY)
        refused = refused_types(body, allowed)
        if refused:
            log.warning("POST /events refused: %s not an allowed event type", refused)
            return _answer(
                start_response,
                403,
                {
                    "error": "event type not allowed on this relay (forward_event_types); "
                    "nothing was forwarded",
                    "fields": refused,
                    "allowed": sorted(allowed),
                },
            )
        try:
            response = post_body(
                config.webhook_url, config.webhook_secret, body, api_key=config.webhook_api_key
            )
        except requests.RequestException as exc:
            log.warning("webhook unreachable: %s", exc)
            return _answer(
                start_response,
                503,
                {"error": "ecmpush webhook unreachable; retry"},
                retry_after=RETRY_AFTER_S,
            )
        return _answer(start_response, response.status_code, response.content)

    def steps(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        media = _media_type(environ)
        ref = step_ref(_read_body(environ, MAX_ANNOUNCE), media)
        try:
            result: Announcement = announce(config, reader, ref, send)
        except EcmError as exc:
            down = isinstance(exc, EcmUnavailable)
            log.log(logging.WARNING if down else logging.ERROR, "announce %s: %s", ref, exc)
            return _answer(
                start_response,
                503 if down else 502,
                {
                    "status": "ecm_unavailable" if down else "ecm_refused",
                    "step": str(ref),
                    "error": "Content Server could not be reached; nothing was sent: retry"
                    if down
                    else "Content Server refused the relay (credentials, manager rights?)",
                },
                retry_after=RETRY_AFTER_S if down else None,
            )
        if result.status in ("pending", "refused"):
            answered = ", ".join(
                f"{e['id']} ({who(e['assignee'])}): {e['status']}" for e in result.events
            )
            log.warning("announce %s: webhook answered %s", ref, answered)
        status = ANNOUNCED[result.status]
        return _answer(
            start_response,
            status,
            {"status": result.status, "step": result.step, "events": result.events},
            retry_after=RETRY_AFTER_S if status == 503 else None,
        )

    routes: dict[str, Callable[[dict[str, Any], StartResponse], Iterable[bytes]]] = {
        "/events": forward,
        "/steps": steps,
    }

    def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        route = routes.get(str(environ.get("PATH_INFO", "")))
        if route is None:
            return _answer(start_response, 404, {"error": "POST /steps or POST /events only"})
        if environ.get("REQUEST_METHOD") != "POST":
            return _answer(start_response, 405, {"error": "POST only"})
        given = str(environ.get("HTTP_AUTHORIZATION", "")).encode()
        if not hmac.compare_digest(given, expected):
            return _answer(start_response, 401, {"error": "missing or wrong bearer token"})
        try:
            return route(environ, start_response)
        except BadRequest as exc:
            answer: dict[str, Any] = {"error": str(exc)}
            if exc.fields:
                answer["fields"] = exc.fields
            return _answer(start_response, exc.status, answer)

    return app
