"""Which links a push may carry (contract §1): https, on a host the operator lists.
Why: docs/design/push-links.md."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from ecmpush.domain.field_errors import FieldError

_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_HOST = re.compile(rf"{_LABEL}(?:\.{_LABEL})*(?::[0-9]{{1,5}})?")
_DEFAULT_PORT = 443
# The visible ASCII of a URL; anything else (spaces, controls, backslashes that browsers read
# as "/", non-ASCII) is refused outright rather than guessed at.
_URL_CHARS = re.compile(r"[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]+")


class LinkHostsInvalid(ValueError):
    """An entry of the operator's host list is not a plain host[:port]."""


def _netloc(host: str, port: int | None) -> str:
    return host if port in (None, _DEFAULT_PORT) else f"{host}:{port}"


def _host_of_base(url: str) -> str:
    parts = urlsplit(url)
    if not parts.hostname:
        raise LinkHostsInvalid(f"{url!r} has no host")
    return _netloc(parts.hostname.lower(), parts.port)


def _entry(raw: str) -> str:
    entry = raw.strip().lower()
    if not _HOST.fullmatch(entry):
        raise LinkHostsInvalid(f"{raw!r} is not a host name (host or host:port, ASCII, no scheme)")
    host, _, port = entry.partition(":")
    return _netloc(host, int(port) if port else None)


@dataclass(frozen=True)
class LinkPolicy:
    """The hosts (`host` or `host:port` for a port other than 443) links may point at, and
    `home`, the app's base URL that a refused link falls back to."""

    hosts: frozenset[str]
    home: str = ""

    @classmethod
    def of(
        cls, app_base_url: str, *other_bases: str, listed: str | Iterable[str] = ()
    ) -> LinkPolicy:
        """The hosts of the app's and the other base URLs plus the operator's list (a comma
        list or an iterable). Raises LinkHostsInvalid for an entry that is not a plain host."""
        entries = listed.split(",") if isinstance(listed, str) else list(listed)
        hosts = {_host_of_base(url) for url in (app_base_url, *other_bases) if url}
        hosts |= {_entry(entry) for entry in entries if entry.strip()}
        return cls(frozenset(hosts), app_base_url.rstrip("/"))

    def refusal(self, url: str) -> str | None:
        """Why `url` may not be a push's link, or None when it may."""
        if not _URL_CHARS.fullmatch(url):
            return "link must be a plain ASCII URL (no spaces, backslashes or other characters)"
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError:
            return "link is not a valid URL"
        if parts.scheme.lower() != "https":
            return "link must be https"
        if "@" in parts.netloc:
            return "link may not carry a user name or password"
        host = (parts.hostname or "").lower()
        if not host or not _HOST.fullmatch(host):
            return "link has no valid host name"
        if _netloc(host, port) not in self.hosts:
            return (
                f"link host {_netloc(host, port)!r} is not one this deployment allows "
                "(AppBaseUrl, EcmBaseUrl or LinkHosts)"
            )
        return None

    def allows(self, url: str) -> bool:
        return self.refusal(url) is None

    def or_else(self, url: str | None, fallback: str) -> str:
        """`url` when it is allowed, else `fallback` (the app's own link for the same thing)."""
        return url if url is not None and self.allows(url) else fallback

    def errors(self, links: Iterable[tuple[str, str | None]]) -> list[FieldError]:
        """One error per refused (path, url) pair; None urls are absent fields."""
        return [
            {"path": path, "message": reason}
            for path, url in links
            if url is not None and (reason := self.refusal(url)) is not None
        ]
