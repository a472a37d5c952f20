"""A stand-in for the browser push service (the Web Push endpoint FCM hands a web push to), so
the web client receives what the FCM stand-in accepted for its token without Google's servers.

A real browser subscribes with `PushManager.subscribe` and the Firebase JS SDK exchanges that
subscription for an FCM registration token; neither works offline. Locally the page asks this
channel for a token instead (`POST /_webpush/subscriptions`), registers it with ecmpush like any
FCM token, and long-polls `GET /_webpush/subscriptions/<token>/messages?wait=25`. What arrives is
the payload a push event carries in the service worker: the top-level `notification` merged with
`webpush.notification` (so the action buttons are there), `data` merged with `webpush.data`, and
`fcmOptions.link`. Only messages FCM answered 200 reach it, as only those reach a browser.

The routes answer any origin (CORS): the page lives on the API's origin, the channel on the FCM
stand-in's, as the push service and the app do in production."""

from __future__ import annotations

import secrets
import threading
import time
from collections import deque
from collections.abc import Iterable
from typing import Any

from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from devstack.http_server import json_response as _json

MAX_WAIT_SECONDS = 30
MAX_QUEUED = 100  # per subscription: a page that never polls cannot grow the stand-in forever
TOKEN_PREFIX = "webpush-local-"


def push_payload(message: dict[str, Any]) -> dict[str, Any]:
    """What the service worker's push event carries for an FCM HTTP v1 `message`."""
    webpush = message.get("webpush") or {}
    notification = {**(message.get("notification") or {}), **(webpush.get("notification") or {})}
    payload: dict[str, Any] = {
        "data": {**(message.get("data") or {}), **(webpush.get("data") or {})},
        "from": "ecmpush-local",
        "fcmMessageId": secrets.token_hex(8),
    }
    if notification:
        payload["notification"] = notification
    link = (webpush.get("fcm_options") or {}).get("link")
    if link:
        payload["fcmOptions"] = {"link": link}
    return payload


class WebPushChannel:
    """The WSGI app and the in-process hook the FCM stand-in calls after a 200."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._queues: dict[str, deque[dict[str, Any]]] = {}
        self._urls = Map(
            [
                Rule("/subscriptions", methods=["POST"], endpoint="subscribe"),
                Rule("/subscriptions/<token>/messages", methods=["GET"], endpoint="poll"),
            ]
        )

    def subscribe(self) -> str:
        token = TOKEN_PREFIX + secrets.token_urlsafe(24)
        with self._changed:
            self._queues[token] = deque(maxlen=MAX_QUEUED)
        return token

    def deliver(self, target: str | None, message: dict[str, Any]) -> None:
        """FCM accepted `message` for `target`; hand it on if a page subscribed that token."""
        with self._changed:
            queue = self._queues.get(target or "")
            if queue is None:
                return
            queue.append(push_payload(message))
            self._changed.notify_all()

    def take(self, token: str, wait: float) -> list[dict[str, Any]] | None:
        """Everything queued for `token`, waiting up to `wait` s for the first; None if unknown."""
        deadline = time.monotonic() + wait
        with self._changed:
            while True:
                queue = self._queues.get(token)
                if queue is None:
                    return None
                remaining = deadline - time.monotonic()
                if queue or remaining <= 0:
                    taken = list(queue)
                    queue.clear()
                    return taken
                self._changed.wait(remaining)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        request = Request(environ)
        if request.method == "OPTIONS":
            response = Response(status=204)
        else:
            try:
                endpoint, args = self._urls.bind_to_environ(environ).match()
                response = getattr(self, f"_{endpoint}")(request, **args)
            except HTTPException as exc:
                response = _json({"error": exc.description}, exc.code or 500)
        response.headers["Access-Control-Allow-Origin"] = "*"
        response.headers["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
        response.headers["Access-Control-Allow-Headers"] = "Content-Type"
        result: Iterable[bytes] = response(environ, start_response)
        return result

    def _subscribe(self, request: Request) -> Response:
        return _json({"token": self.subscribe()}, 201)

    def _poll(self, request: Request, token: str) -> Response:
        raw = request.args.get("wait", "0")
        if not raw.isdigit() or int(raw) > MAX_WAIT_SECONDS:
            return _json({"error": f"wait must be 0..{MAX_WAIT_SECONDS} seconds"}, 400)
        messages = self.take(token, int(raw))
        if messages is None:
            return _json({"error": "unknown subscription"}, 404)
        return _json({"messages": messages})
