"""One HTTP exchange with Content Server, transient failures retried only while the next
attempt fits the caller's deadline, then `EcmUnavailable`.
Why: docs/design/content-server-client.md."""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import requests

from ecmpush.adapters.ecm.config import EcmConfig
from ecmpush.clock import Deadline, utc_now
from ecmpush.domain.backoff import Backoff, retry_after_seconds
from ecmpush.domain.ecm.errors import EcmUnavailable

log = logging.getLogger(__name__)

RETRYABLE_STATUSES = frozenset({502, 503, 504})
_NOT_JSON = object()

FormData = Mapping[str, str | Sequence[str]]


@dataclass(frozen=True)
class Answer:
    """A final (non-retryable) HTTP answer; `body` is the decoded JSON or None when the body was
    empty or not JSON (only possible for non-2xx answers)."""

    status: int
    headers: Mapping[str, str]
    body: Any
    text: str

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


def _decode(response: requests.Response) -> Any:
    if not response.content:
        return None
    try:
        return json.loads(response.content)
    except ValueError:
        return _NOT_JSON


class Transport:
    """Sends requests for the client and the authenticator; knows nothing about tickets."""

    def __init__(
        self,
        config: EcmConfig,
        session: requests.Session,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        rand: Callable[[], float] | None = None,
    ) -> None:
        self._config = config
        self._session = session
        self._sleep = sleep
        self._clock = clock
        self._rand = rand or random.random

    @property
    def config(self) -> EcmConfig:
        return self._config

    def pause(self, seconds: float) -> None:
        self._sleep(seconds)

    def deadline(self, budget_s: float | None) -> Deadline:
        return Deadline(
            self._config.default_budget_s if budget_s is None else budget_s, self._clock
        )

    def backoff(self, attempt: int, retry_after: float | None) -> float:
        """ecmpush's one backoff formula (domain/backoff.py) with this client's base and cap:
        exponential, equal jitter, a server's Retry-After as a floor."""
        cfg = self._config
        policy = Backoff(cfg.backoff_base_s, max(cfg.backoff_max_s, cfg.backoff_base_s))
        return policy.seconds(attempt, retry_after, rand=self._rand())

    def request(
        self,
        method: str,
        url: str,
        *,
        deadline: Deadline,
        headers: Mapping[str, str] | None = None,
        params: FormData | None = None,
        data: FormData | None = None,
    ) -> Answer:
        cfg = self._config
        sent_headers = {"Accept": "application/json", "User-Agent": cfg.user_agent}
        sent_headers.update(headers or {})
        attempt = 0
        while True:
            attempt += 1
            remaining = deadline.remaining()
            if remaining <= 0:
                raise EcmUnavailable(f"{method} {url}: no time left in the budget")
            reason: str
            status: int | None = None
            retry_after: float | None = None
            try:
                response = self._session.request(
                    method,
                    url,
                    headers=sent_headers,
                    params=params,
                    data=data,
                    timeout=(
                        min(cfg.connect_timeout_s, remaining),
                        min(cfg.read_timeout_s, remaining),
                    ),
                    allow_redirects=False,
                )
            except (requests.ConnectionError, requests.Timeout) as exc:
                reason = type(exc).__name__
            else:
                status = response.status_code
                body = _decode(response)
                if status in RETRYABLE_STATUSES:
                    reason = f"HTTP {status}"
                    hint = response.headers.get("Retry-After")
                    retry_after = retry_after_seconds(hint, utc_now())
                elif 200 <= status < 300 and body is _NOT_JSON:
                    ctype = response.headers.get("Content-Type", "?")
                    reason = f"HTTP {status} with a non-JSON body ({ctype}); server restarting?"
                elif 200 <= status < 300 and body is None and status != 204:
                    reason = f"HTTP {status} with an empty body"
                else:
                    return Answer(
                        status=status,
                        headers=response.headers,
                        body=None if body is _NOT_JSON else body,
                        text=response.text[:2000],
                    )
            delay = self.backoff(attempt, retry_after)
            if attempt >= cfg.max_attempts or delay >= deadline.remaining():
                raise EcmUnavailable(
                    f"{method} {url}: {reason} after {attempt} attempt(s)",
                    status=status,
                    retry_after=retry_after,
                )
            log.warning("ECM %s %s: %s; retry %d in %.2fs", method, url, reason, attempt, delay)
            self._sleep(delay)


@dataclass(frozen=True)
class Download:
    """A final answer to a content request: `data` holds at most `limit` bytes; `truncated`
    says the body went on past them (it was not read further). A non-2xx answer carries its
    decoded JSON error in `body`."""

    status: int
    headers: Mapping[str, str]
    data: bytes
    truncated: bool
    body: Any = None

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


def _read_capped(response: requests.Response, limit: int) -> tuple[bytes, bool]:
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_content(chunk_size=64 * 1024):
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            return b"".join(chunks)[:limit], True
    return b"".join(chunks), False


class Downloader:
    """Streams a document for the client: the same timeouts and retries as `Transport`, but the
    body is bytes, read only up to a cap (a Lambda answer holds 6 MB at most)."""

    def __init__(self, transport: Transport, session: requests.Session) -> None:
        self._transport = transport
        self._session = session

    def get(
        self, url: str, *, deadline: Deadline, headers: Mapping[str, str], limit: int
    ) -> Download:
        cfg = self._transport.config
        sent = {"Accept": "*/*", "User-Agent": cfg.user_agent, **headers}
        attempt = 0
        while True:
            attempt += 1
            remaining = deadline.remaining()
            if remaining <= 0:
                raise EcmUnavailable(f"GET {url}: no time left in the budget")
            status: int | None = None
            retry_after: float | None = None
            try:
                with self._session.get(
                    url,
                    headers=sent,
                    timeout=(
                        min(cfg.connect_timeout_s, remaining),
                        min(cfg.read_timeout_s, remaining),
                    ),
                    allow_redirects=False,
                    stream=True,
                ) as response:
                    status = response.status_code
                    if status not in RETRYABLE_STATUSES:
                        data, truncated = _read_capped(response, limit)
                        body = None if 200 <= status < 300 else _decode_bytes(data)
                        return Download(status, response.headers, data, truncated, body)
                    reason = f"HTTP {status}"
                    retry_after = retry_after_seconds(
                        response.headers.get("Retry-After"), utc_now()
                    )
            except (requests.ConnectionError, requests.Timeout) as exc:
                reason = type(exc).__name__
            delay = self._transport.backoff(attempt, retry_after)
            if attempt >= cfg.max_attempts or delay >= deadline.remaining():
                raise EcmUnavailable(
                    f"GET {url}: {reason} after {attempt} attempt(s)",
                    status=status,
                    retry_after=retry_after,
                )
            log.warning("ECM GET %s: %s; retry %d in %.2fs", url, reason, attempt, delay)
            self._transport.pause(delay)


def _decode_bytes(data: bytes) -> Any:
    try:
        return json.loads(data) if data else None
    except ValueError:
        return None
