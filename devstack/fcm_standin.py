"""An FCM HTTP v1 and Google OAuth/x509 stand-in speaking the real wire formats.

The unmodified firebase-admin SDK talks to it (only the FCM base URL, the token URI and the ID
token cert URL differ), so everything between our adapter and the network is the production
code: OAuth JWT-bearer grants signed with the service account key, bearer tokens, the SDK's
urllib3 retries, and its error mapping (`_utils.handle_platform_error_from_requests` plus
`_MessagingService._build_fcm_error`, which read `error.status` and the FcmError `errorCode` in
`error.details`). Errors therefore carry both, as FCM's do.

Local-only inspection routes (contract §5; loopback clients only) record every HTTP attempt,
including the SDK's own retries, so a fault with `times: 1` is visibly consumed by the first
attempt and the retry succeeds.

What FCM refuses, it refuses here, with FCM's answers (devstack/fcm_schema.py): every request is
checked against Google's FCM v1 discovery document (unknown names at any depth, types, enums,
durations; camelCase or snake_case names, as proto-JSON takes them), then against the rules
FCM's documentation states (one target, reserved data keys, an https web link, the payload
limit).

Payload size: FCM rejects messages whose payload exceeds 4096 bytes. The stand-in measures the
compact UTF-8 JSON of the `message` object without its target field (token/fid/topic/condition),
which is what `fcm_schema.payload_size()` returns; the domain's estimate must stay at or below
it."""

from __future__ import annotations

import contextlib
import datetime as dt
import email.utils
import ipaddress
import itertools
import json
import secrets
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from typing import Any

from google.auth import jwt
from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from devstack.fcm_schema import fcm_violation, parse_violations
from devstack.http_server import BackgroundServer
from devstack.identity import SECURETOKEN_CERTS_EMAIL, LocalIdentity

TOKEN_PATH = "/token"
CERTS_PATH = f"/robot/v1/metadata/x509/{SECURETOKEN_CERTS_EMAIL}"
ACCESS_TOKEN_SECONDS = 3600
JWT_BEARER_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
# google-auth signs every service-account assertion for Google's token endpoint, whatever the
# configured token_uri (service_account._GOOGLE_OAUTH2_TOKEN_ENDPOINT), and Google accepts it.
GOOGLE_TOKEN_AUDIENCE = "https://oauth2.googleapis.com/token"
FCM_ERROR_TYPE = "type.googleapis.com/google.firebase.fcm.v1.FcmError"
BAD_REQUEST_TYPE = "type.googleapis.com/google.rpc.BadRequest"

# errorCode → (HTTP status, google.rpc status, message), as FCM answers them. Each answer
# carries FCM's FcmError detail with that errorCode and nothing else.
FCM_ERRORS: dict[str, tuple[int, str, str]] = {
    "UNREGISTERED": (404, "NOT_FOUND", "Requested entity was not found."),
    # An invalid registration token, word for word as Google documents it (FCM's error-codes
    # page, "Example 2"): no google.rpc.BadRequest detail names the token.
    "INVALID_ARGUMENT": (
        400,
        "INVALID_ARGUMENT",
        "The registration token is not a valid FCM registration token",
    ),
    "QUOTA_EXCEEDED": (429, "RESOURCE_EXHAUSTED", "Sending limit exceeded for the message target."),
    "UNAVAILABLE": (503, "UNAVAILABLE", "The service is currently unavailable."),
    "INTERNAL": (500, "INTERNAL", "Internal error encountered."),
    # Not in contract §5's list, but FCM answers them and the sender must map them.
    "SENDER_ID_MISMATCH": (403, "PERMISSION_DENIED", "SenderId mismatch"),
    "THIRD_PARTY_AUTH_ERROR": (401, "UNAUTHENTICATED", "Auth error from APNS or Web Push Service"),
}


def token_uri_for(base_url: str) -> str:
    """The OAuth token URI to put in the local service account JSON."""
    return base_url.rstrip("/") + TOKEN_PATH


def certs_url_for(base_url: str) -> str:
    """The ID-token certificate URL to set on the SDK's verifier."""
    return base_url.rstrip("/") + CERTS_PATH


@dataclass
class Fault:
    """An injected answer for matching send attempts; `times` None lasts until reset."""

    id: int
    error: str | None
    match_token: str | None = None
    times: int | None = None
    retry_after: int | str | None = None
    latency_ms: int | None = None

    def matches(self, target: str | None) -> bool:
        return self.match_token is None or self.match_token == target


class _Answer(Exception):
    """Raised inside a handler to answer with `response` (keeps the handlers linear)."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status)
        self.response = response


class FcmStandIn:
    """The WSGI app. Thread-safe: werkzeug's threaded server calls it concurrently."""

    def __init__(self, identity: LocalIdentity) -> None:
        self.identity = identity
        self._lock = threading.Lock()
        self._records: list[dict[str, Any]] = []
        self._faults: list[Fault] = []
        self._token_outages = 0  # token requests still to answer 503, as Google's endpoint can
        self._token_delays: list[float] = []  # seconds to hold each next token answer back
        self._token_requests = 0
        self._access_tokens: dict[str, float] = {}  # token → expiry (epoch seconds)
        self._seq = itertools.count(1)
        self._fault_ids = itertools.count(1)
        # Called with (target, message) for each message answered 200: the browser push
        # service stand-in (devstack/webpush_channel.py) hangs off this.
        self.delivery_listeners: list[Callable[[str | None, dict[str, Any]], None]] = []
        self._urls = Map(
            [
                Rule(TOKEN_PATH, methods=["POST"], endpoint="token"),
                Rule("/v1/projects/<project>/messages:send", methods=["POST"], endpoint="send"),
                Rule("/robot/v1/metadata/x509/<email>", methods=["GET"], endpoint="x509"),
                Rule("/_inspect/messages", methods=["GET"], endpoint="inspect_messages"),
                Rule("/_inspect/faults", methods=["GET", "POST"], endpoint="inspect_faults"),
                Rule("/_inspect", methods=["DELETE"], endpoint="inspect_reset"),
            ]
        )

    # -- in-process helpers (tests and the local stack) ---------------------------------------

    def messages(self, token: str | None = None) -> list[dict[str, Any]]:
        """Every send attempt received, oldest first, optionally only those for `token`."""
        with self._lock:
            records = [r for r in self._records if token is None or r["target"] == token]
            copied: list[dict[str, Any]] = json.loads(json.dumps(records))  # callers may mutate
            return copied

    def add_fault(
        self,
        error: str | None = None,
        *,
        match_token: str | None = None,
        times: int | None = None,
        retry_after: int | str | None = None,
        latency_ms: int | None = None,
    ) -> dict[str, Any]:
        """Inject an FCM error (or, with only `latency_ms`, a slow success)."""
        if error is not None and error not in FCM_ERRORS:
            raise ValueError(f"error must be one of {sorted(FCM_ERRORS)}")
        if error is None and latency_ms is None:
            raise ValueError("a fault needs an error, a latency_ms, or both")
        if times is not None and not (_is_int(times) and times >= 1):
            raise ValueError("times must be a positive integer (omit it to last until reset)")
        if latency_ms is not None and not (_is_int(latency_ms) and latency_ms >= 0):
            raise ValueError("latency_ms must be a non-negative integer")
        if retry_after is not None:
            _check_retry_after(retry_after)
        if match_token is not None and not isinstance(match_token, str):
            raise ValueError("match_token must be a string")
        with self._lock:
            fault = Fault(next(self._fault_ids), error, match_token, times, retry_after, latency_ms)
            self._faults.append(fault)
            return asdict(fault)

    def fail_token_requests(self, times: int) -> None:
        """Answer the next `times` OAuth token requests 503 `internal_failure` (a retryable
        answer: google-auth tries three times before it gives up)."""
        if not (_is_int(times) and times >= 0):
            raise ValueError("times must be a non-negative integer")
        with self._lock:
            self._token_outages = times

    def slow_token_requests(self, times: int, seconds: float) -> None:
        """Hold the next `times` OAuth token answers back for `seconds` each (a slow or
        overloaded token endpoint)."""
        if not (_is_int(times) and times >= 0) or seconds < 0:
            raise ValueError("times must be a non-negative integer and seconds >= 0")
        with self._lock:
            self._token_delays = [float(seconds)] * times

    @property
    def token_requests(self) -> int:
        """OAuth token requests received so far (answered or failed)."""
        with self._lock:
            return self._token_requests

    def revoke_access_token(self, token: str) -> None:
        """Stop accepting an issued access token before it expires (Google can revoke one):
        FCM then answers 401 UNAUTHENTICATED, without an FcmError detail."""
        with self._lock:
            self._access_tokens.pop(token, None)

    def faults(self) -> list[dict[str, Any]]:
        with self._lock:
            return [asdict(f) for f in self._faults]

    def reset(self) -> None:
        """Forget recorded messages and faults. Issued access tokens stay valid, as they would
        at Google, so a running SDK does not see a spurious 401 after a test's reset."""
        with self._lock:
            self._records.clear()
            self._faults.clear()
            self._token_outages = 0
            self._token_delays = []

    # -- WSGI ---------------------------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        request = Request(environ)
        try:
            endpoint, args = self._urls.bind_to_environ(environ).match()
            if endpoint.startswith("inspect_") and not _is_local(request.remote_addr):
                raise _Answer(
                    _json({"error": "inspection routes answer loopback clients only"}, 403)
                )
            response: Response = getattr(self, f"_{endpoint}")(request, **args)
        except HTTPException as exc:
            response = exc.get_response(environ)
        except _Answer as answer:
            response = answer.response
        result: Iterable[bytes] = response(environ, start_response)
        return result

    def _token(self, request: Request) -> Response:
        with self._lock:
            self._token_requests += 1
            failing = self._token_outages > 0
            self._token_outages -= int(failing)
            delay = self._token_delays.pop(0) if self._token_delays else 0.0
        if delay:
            time.sleep(delay)
        if failing:
            return _json({"error": "internal_failure", "error_description": "Backend Error"}, 503)
        form = request.form
        if form.get("grant_type") != JWT_BEARER_GRANT:
            return _json(
                {"error": "unsupported_grant_type", "error_description": "Invalid grant_type."}, 400
            )
        own_audience = request.host_url.rstrip("/") + TOKEN_PATH
        try:
            claims = jwt.decode(  # type: ignore[no-untyped-call]
                form.get("assertion", ""),
                certs=self.identity.service_account_certs(),
                audience=[GOOGLE_TOKEN_AUDIENCE, own_audience],
            )
            if claims.get("iss") != self.identity.client_email:
                raise ValueError("issuer is not the service account")
        except (ValueError, KeyError, TypeError):
            return _json(
                {"error": "invalid_grant", "error_description": "Invalid JWT Signature."}, 400
            )
        access_token = "ya29.local." + secrets.token_urlsafe(32)
        with self._lock:
            self._access_tokens[access_token] = time.time() + ACCESS_TOKEN_SECONDS
        return _json(
            {
                "access_token": access_token,
                "expires_in": ACCESS_TOKEN_SECONDS,
                "token_type": "Bearer",
            }
        )

    def _x509(self, request: Request, email: str) -> Response:
        if email == SECURETOKEN_CERTS_EMAIL:
            certs = self.identity.certs()
        elif email == self.identity.client_email:
            certs = self.identity.service_account_certs()
        else:
            return _json(
                {"error": {"code": 404, "message": "Not Found", "status": "NOT_FOUND"}}, 404
            )
        response = _json(certs)
        response.headers["Cache-Control"] = "public, max-age=3600, must-revalidate, no-transform"
        return response

    def _send(self, request: Request, project: str) -> Response:
        record: dict[str, Any] = {
            "seq": 0,
            "received_at": _now_rfc3339(),
            "project": project,
            "target": None,
            "validate_only": False,
            "message": None,
            "fault_id": None,
        }
        body = request.get_data(as_text=True)
        parsed: Any = None
        with contextlib.suppress(ValueError):
            parsed = json.loads(body)
        if isinstance(parsed, dict) and isinstance(parsed.get("message"), dict):
            message = parsed["message"]
            record["message"] = message
            record["validate_only"] = (
                parsed.get("validate_only", parsed.get("validateOnly")) is True
            )
            targets = [message[f] for f in ("token", "fid") if isinstance(message.get(f), str)]
            record["target"] = targets[0] if targets else None
        try:
            response = self._answer_send(request, project, parsed, record)
        except _Answer as answer:
            response = answer.response
        body_json = json.loads(response.get_data(as_text=True))
        with self._lock:
            record["seq"] = next(self._seq)
            record["answer"] = {
                "status": response.status_code,
                "body": body_json,
                "headers": {k: v for k, v in response.headers.items() if k == "Retry-After"},
            }
            self._records.append(record)
        if response.status_code == 200 and not record["validate_only"]:
            for listener in self.delivery_listeners:
                listener(record["target"], record["message"])
        return response

    def _answer_send(
        self, request: Request, project: str, parsed: Any, record: dict[str, Any]
    ) -> Response:
        self._require_access_token(request)
        if project != self.identity.project_id:
            raise _Answer(
                _rpc_error(
                    403,
                    "PERMISSION_DENIED",
                    "Permission 'cloudmessaging.messages.create' denied on resource "
                    f"'//cloudresourcemanager.googleapis.com/projects/{project}' "
                    "(or it may not exist).",
                )
            )
        _validate_request(parsed)
        fault = self._take_fault(record["target"])
        if fault is not None and fault.latency_ms:
            time.sleep(fault.latency_ms / 1000)
        if fault is not None and fault.error is not None:
            status, rpc_status, text = FCM_ERRORS[fault.error]
            response = _rpc_error(status, rpc_status, text, error_code=fault.error)
            if fault.retry_after is not None:
                response.headers["Retry-After"] = str(fault.retry_after)
            record["fault_id"] = fault.id
            return response
        if record["validate_only"]:
            return _json({"name": f"projects/{project}/messages/fake_message_id"})
        message_id = f"0:{int(time.time() * 1000)}%{secrets.token_hex(8)}"
        return _json({"name": f"projects/{project}/messages/{message_id}"})

    def _require_access_token(self, request: Request) -> None:
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if not header:
            text = (
                "Request is missing required authentication credential. Expected OAuth 2 access "
                "token, login cookie or other valid authentication credential."
            )
        else:
            if scheme.lower() == "bearer" and self.access_token_valid(token.strip()):
                return
            text = (
                "Request had invalid authentication credentials. Expected OAuth 2 access token, "
                "login cookie or other valid authentication credential."
            )
        response = _rpc_error(401, "UNAUTHENTICATED", text)
        response.headers["WWW-Authenticate"] = 'Bearer realm="https://accounts.google.com/"'
        raise _Answer(response)

    def access_token_valid(self, token: str) -> bool:
        """An OAuth access token this stand-in issued and that has not expired (the Identity
        Toolkit stand-in, devstack/auth_standin.py, accepts the same tokens)."""
        with self._lock:
            expiry = self._access_tokens.get(token)
        return expiry is not None and expiry > time.time()

    def _take_fault(self, target: str | None) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.matches(target):
                    if fault.times is not None:
                        fault.times -= 1
                        if fault.times == 0:
                            self._faults.remove(fault)
                    return fault
        return None

    def _inspect_messages(self, request: Request) -> Response:
        return _json({"messages": self.messages(request.args.get("token"))})

    def _inspect_faults(self, request: Request) -> Response:
        if request.method == "GET":
            return _json({"faults": self.faults()})
        spec = request.get_json(silent=True)
        if not isinstance(spec, dict):
            return _json({"error": "body must be a JSON object"}, 400)
        unknown = set(spec) - {"match_token", "error", "times", "retry_after", "latency_ms"}
        if unknown:
            return _json({"error": f"unknown fields: {sorted(unknown)}"}, 400)
        try:
            fault = self.add_fault(**spec)
        except ValueError as exc:
            return _json({"error": str(exc)}, 400)
        return _json({"fault": fault}, 201)

    def _inspect_reset(self, request: Request) -> Response:
        self.reset()
        return Response(status=204)


def create_fcm_standin(identity: LocalIdentity) -> FcmStandIn:
    """The stand-in for `identity`'s project; serve it with `http_server.BackgroundServer`."""
    return FcmStandIn(identity)


@dataclass(frozen=True)
class RunningFcmStandIn:
    """A served stand-in: the WSGI object (for in-process inspection) and its server."""

    standin: FcmStandIn
    server: BackgroundServer

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def token_uri(self) -> str:
        return token_uri_for(self.server.url)

    @property
    def certs_url(self) -> str:
        return certs_url_for(self.server.url)

    def messages(self, token: str | None = None) -> list[dict[str, Any]]:
        return self.standin.messages(token)

    def add_fault(
        self,
        error: str | None = None,
        *,
        match_token: str | None = None,
        times: int | None = None,
        retry_after: int | str | None = None,
        latency_ms: int | None = None,
    ) -> dict[str, Any]:
        return self.standin.add_fault(
            error,
            match_token=match_token,
            times=times,
            retry_after=retry_after,
            latency_ms=latency_ms,
        )

    def reset(self) -> None:
        self.standin.reset()

    def stop(self) -> None:
        self.server.stop()


def start_fcm_standin(
    identity: LocalIdentity, host: str = "127.0.0.1", port: int = 0
) -> RunningFcmStandIn:
    """Create and serve the stand-in in a daemon thread (port 0 picks a free port)."""
    standin = create_fcm_standin(identity)
    return RunningFcmStandIn(standin, BackgroundServer(standin, host, port).start())


def _validate_request(parsed: Any) -> None:
    """Refuse what FCM refuses before delivery, as FCM answers it (what it accepts is only
    recorded): the JSON parser's refusals with a BadRequest detail per error, then FCM's own
    with its FcmError detail (devstack/fcm_schema.py)."""
    violations = parse_violations(parsed)
    if violations:
        raise _Answer(
            _rpc_error(
                400,
                "INVALID_ARGUMENT",
                "\n".join(v.description for v in violations),
                violations=[(v.field, v.description) for v in violations],
            )
        )
    refused = fcm_violation(parsed.get("message") or {})
    if refused is not None:
        text, field = refused
        raise _Answer(
            _rpc_error(
                400,
                "INVALID_ARGUMENT",
                text,
                error_code="INVALID_ARGUMENT",
                violations=[(field, text)] if field else [],
            )
        )


def _rpc_error(
    http_status: int,
    rpc_status: str,
    message: str,
    *,
    error_code: str | None = None,
    violations: list[tuple[str | None, str]] | None = None,
) -> Response:
    """A google.rpc.Status error body, with FCM's FcmError detail when `error_code` is set and a
    google.rpc.BadRequest detail listing `violations` as (field, description); a violation of
    the request itself has no field, as Google's parser reports it."""
    details: list[dict[str, Any]] = []
    if error_code is not None:
        details.append({"@type": FCM_ERROR_TYPE, "errorCode": error_code})
    if violations:
        details.append(
            {
                "@type": BAD_REQUEST_TYPE,
                "fieldViolations": [
                    {"field": field, "description": text} if field else {"description": text}
                    for field, text in violations
                ],
            }
        )
    error: dict[str, Any] = {"code": http_status, "message": message, "status": rpc_status}
    if details:
        error["details"] = details
    return _json({"error": error}, http_status)


def _json(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, mimetype="application/json")


def _now_rfc3339() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _is_local(remote_addr: str | None) -> bool:
    """Loopback, or no socket at all (an in-process WSGI call)."""
    if remote_addr is None:
        return True
    try:
        address = ipaddress.ip_address(remote_addr)
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)
    return address.is_loopback or bool(mapped and mapped.is_loopback)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_retry_after(value: object) -> None:
    """Seconds (non-negative int) or an HTTP-date, the two forms of RFC 9110 Retry-After."""
    if _is_int(value) and value >= 0:  # type: ignore[operator]
        return
    if isinstance(value, str) and (value.isdigit() or email.utils.parsedate_tz(value)):
        return
    raise ValueError("retry_after must be non-negative seconds or an HTTP-date")
