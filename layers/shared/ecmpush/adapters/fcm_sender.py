"""`PushSender` on firebase-admin: `Push` -> `messaging.Message`, `send_each` in chunks, every
answer read into the domain's `SendResult` (FCM's error codes: fcm_errors.py).
Why: docs/design/fcm-sending.md."""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Sequence
from typing import Any

import firebase_admin
from firebase_admin import exceptions, messaging

from ecmpush.adapters.fcm_errors import FcmAnswer, send_result
from ecmpush.adapters.firebase_app import drop_access_token, encode_message, ensure_access_token
from ecmpush.clock import utc_now
from ecmpush.domain.backoff import retry_after_seconds
from ecmpush.domain.delivery.outcomes import SendResult
from ecmpush.domain.delivery.push import Push

log = logging.getLogger(__name__)

MAX_CHUNK = 500  # send_each's own limit
_FCM_ERROR_TYPE = "type.googleapis.com/google.firebase.fcm.v1.FcmError"
_BAD_REQUEST_TYPE = "type.googleapis.com/google.rpc.BadRequest"
# Firebase installation IDs: 22 characters of URL-safe base64 whose first 4 bits are 0111.
_FID = re.compile(r"[cdef][A-Za-z0-9_-]{21}")
# Fallback when the HTTP body is unavailable: the SDK's FCM-specific exception types.
_ERROR_TYPE_CODES: tuple[tuple[type[Exception], str], ...] = (
    (messaging.UnregisteredError, "UNREGISTERED"),
    (messaging.QuotaExceededError, "QUOTA_EXCEEDED"),
    (messaging.SenderIdMismatchError, "SENDER_ID_MISMATCH"),
    (messaging.ThirdPartyAuthError, "THIRD_PARTY_AUTH_ERROR"),
)


class FcmSender:
    """Sends pushes through one firebase-admin App (see `firebase_app.get_firebase_app`)."""

    def __init__(self, app: firebase_admin.App, *, chunk_size: int = 100) -> None:
        if not 1 <= chunk_size <= MAX_CHUNK:
            raise ValueError(f"chunk_size must be between 1 and {MAX_CHUNK}")
        self._app = app
        self._chunk_size = chunk_size

    def authorize(self, valid_for_seconds: float) -> None:
        ensure_access_token(self._app, valid_for_seconds)

    def send(self, pushes: Sequence[Push]) -> list[SendResult]:
        """One result per push, in order. FCM errors, pushes the SDK refuses to encode and
        chunks that fail as a whole (e.g. the OAuth token could not be refreshed) are results,
        never exceptions; a failed chunk gives UNAVAILABLE so the items are retried."""
        results: list[SendResult | None] = [None] * len(pushes)
        pending: list[tuple[int, messaging.Message]] = []
        for index, push in enumerate(pushes):
            try:
                message = to_message(push)
                encode_message(message)  # refused here, not as a whole batch
            except (ValueError, TypeError) as exc:
                results[index] = send_result(
                    FcmAnswer("INVALID_ARGUMENT", f"not sent, rejected locally: {exc}")
                )
                continue
            pending.append((index, message))
        for start in range(0, len(pending), self._chunk_size):
            chunk = pending[start : start + self._chunk_size]
            for (index, _), result in zip(chunk, self._send_chunk(chunk), strict=True):
                results[index] = result
        done = [r for r in results if r is not None]
        assert len(done) == len(pushes), "every push gets exactly one result"
        return done

    def _send_chunk(self, chunk: list[tuple[int, messaging.Message]]) -> list[SendResult]:
        try:
            batch = messaging.send_each([m for _, m in chunk], app=self._app)
        except Exception as exc:
            log.warning("FCM send_each failed for a chunk of %d: %s", len(chunk), _describe(exc))
            failed = send_result(FcmAnswer("UNAVAILABLE", _describe(exc)))
            return [failed] * len(chunk)
        answers = [fcm_answer(response) for response in batch.responses]
        if any(_refused_access_token(answer) for answer in answers):
            # The next send fetches a new access token (see firebase_app).
            log.warning("FCM refused the access token; it is fetched anew before the next send")
            drop_access_token(self._app)
        return [
            SendResult(message_id=response.message_id) if answer is None else send_result(answer)
            for response, answer in zip(batch.responses, answers, strict=True)
        ]

    @staticmethod
    def wire_message(push: Push) -> dict[str, Any]:
        """The exact JSON object FCM receives as `message` for `push`."""
        encoded = encode_message(to_message(push))
        # The encoder returns nested plain dicts; a JSON round trip makes that a guarantee.
        copied: dict[str, Any] = json.loads(json.dumps(encoded))
        return copied


def to_message(push: Push) -> messaging.Message:
    """Translate a domain `Push` (contract §4) into the SDK's message."""
    if push.data_only:
        return _data_only_message(push)
    apns_headers = {
        "apns-priority": "10" if push.priority == "high" else "5",
        # Required by APNs for alert pushes since iOS 13 (and on watchOS): without it a push
        # may be throttled or dropped.
        "apns-push-type": "alert",
    }
    if push.collapse_key:
        apns_headers["apns-collapse-id"] = push.collapse_key
    # RFC 8030 Urgency: lets the browser's push service deliver a normal push when convenient.
    webpush_headers: dict[str, str] = {"Urgency": push.priority}
    if push.ttl_seconds is not None:
        apns_headers["apns-expiration"] = str(int(time.time()) + push.ttl_seconds)
        webpush_headers["TTL"] = str(push.ttl_seconds)
    # The SDK rejects a non-https webpush link; a local or relative link is dropped, not fatal.
    link = push.link if push.link.startswith("https://") else None
    message = messaging.Message(
        data=dict(push.data),
        notification=messaging.Notification(title=push.title, body=push.body),
        android=messaging.AndroidConfig(
            priority=push.priority,
            collapse_key=push.collapse_key,
            ttl=push.ttl_seconds,
            notification=messaging.AndroidNotification(
                click_action=push.click_action, tag=push.tag, channel_id=push.channel_id
            ),
        ),
        apns=messaging.APNSConfig(
            headers=apns_headers,
            payload=messaging.APNSPayload(
                # No alert here: FCM builds it from the top-level notification, and every
                # repeated title/body costs bytes of the 4 KiB budget (domain/delivery/render.py).
                aps=messaging.Aps(
                    category=push.apns_category,
                    mutable_content=True,
                    thread_id=push.tag,
                )
            ),
        ),
        webpush=messaging.WebpushConfig(
            headers=webpush_headers,
            notification=messaging.WebpushNotification(
                tag=push.tag,
                actions=[
                    messaging.WebpushNotificationAction(a.id, a.title) for a in push.web_actions
                ]
                or None,
            ),
            fcm_options=messaging.WebpushFCMOptions(link=link) if link else None,
        ),
        fid=push.token if _FID.fullmatch(push.token) else None,
    )
    if message.fid is None:
        message.token = push.token  # docs/design/fcm-sending.md
    return message


def _data_only_message(push: Push) -> messaging.Message:
    """A withdrawal: data for the Android app and the web service worker (which close the push
    tagged `push.tag`); for iOS, whose apps see no data push while not running, a soundless
    alert with the withdrawn push's `apns-collapse-id`, which replaces it on screen, and
    `content-available` so a running app can remove it (docs/clients.md)."""
    apns_headers = {"apns-priority": "5", "apns-push-type": "alert"}
    if push.collapse_key:
        apns_headers["apns-collapse-id"] = push.collapse_key
    message = messaging.Message(
        data=dict(push.data),
        android=messaging.AndroidConfig(priority=push.priority, collapse_key=push.collapse_key),
        apns=messaging.APNSConfig(
            headers=apns_headers,
            payload=messaging.APNSPayload(
                aps=messaging.Aps(
                    alert=messaging.ApsAlert(title=push.title, body=push.body),
                    content_available=True,
                    thread_id=push.tag,
                )
            ),
        ),
        webpush=messaging.WebpushConfig(headers={"Urgency": push.priority}),
        fid=push.token if _FID.fullmatch(push.token) else None,
    )
    if message.fid is None:
        message.token = push.token
    return message


def fcm_answer(response: messaging.SendResponse) -> FcmAnswer | None:
    """FCM's error answer as sent (None: FCM accepted the message)."""
    if response.success:
        return None
    exc = response.exception
    details = _error_details(exc)
    return FcmAnswer(
        error_code=_error_code(exc, details),
        error_message=str(exc),
        retry_after_seconds=_retry_after(getattr(exc, "http_response", None)),
        field_violations=_field_violations(details),
        fcm_error_code=_fcm_error_code(details),
    )


def _error_details(exc: BaseException | None) -> list[dict[str, Any]]:
    """`error.details[]` of FCM's google.rpc.Status answer, when the HTTP body is at hand."""
    response = getattr(exc, "http_response", None)
    if response is None:
        return []
    try:
        body = response.json()
    except ValueError:
        return []
    error = body.get("error") if isinstance(body, dict) else None
    details = error.get("details") if isinstance(error, dict) else None
    return [d for d in details if isinstance(d, dict)] if isinstance(details, list) else []


def _field_violations(details: list[dict[str, Any]]) -> tuple[str, ...]:
    fields: list[str] = []
    for detail in details:
        if detail.get("@type") == _BAD_REQUEST_TYPE:
            for violation in detail.get("fieldViolations") or []:
                if isinstance(violation, dict) and isinstance(violation.get("field"), str):
                    fields.append(violation["field"])
    return tuple(fields)


def _fcm_error_code(details: list[dict[str, Any]]) -> str | None:
    """The `errorCode` of the answer's FcmError detail, as sent (None without one)."""
    for detail in details:
        if detail.get("@type") == _FCM_ERROR_TYPE:
            code = detail.get("errorCode")
            if isinstance(code, str) and code:
                return code
    return None


def _error_code(exc: BaseException | None, details: list[dict[str, Any]]) -> str:
    """FCM's `errorCode` when it sent one, else the canonical status (INVALID_ARGUMENT, ...)."""
    code = _fcm_error_code(details)
    if code is not None and code != "UNSPECIFIED_ERROR":
        return code
    for exc_type, code in _ERROR_TYPE_CODES:
        if isinstance(exc, exc_type):
            return code
    if isinstance(exc, exceptions.FirebaseError) and exc.code:
        return str(exc.code)
    return "UNKNOWN"


def _retry_after(response: Any) -> float | None:
    """Seconds from the answer's `Retry-After` header, if any (domain/backoff.py parses it)."""
    headers = getattr(response, "headers", None)
    value = headers.get("Retry-After") if headers is not None else None
    return retry_after_seconds(value if isinstance(value, str) else None, utc_now())


def _refused_access_token(answer: FcmAnswer | None) -> bool:
    """401 without an FcmError: FCM refused ecmpush's own access token (not APNs' or web push's
    credentials, which come with an errorCode)."""
    return (
        answer is not None
        and answer.error_code == "UNAUTHENTICATED"
        and answer.fcm_error_code is None
    )


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:500]
