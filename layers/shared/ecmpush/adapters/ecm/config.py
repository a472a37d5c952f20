"""How ecmpush reaches Content Server: where, as whom, and how patiently.

Credentials live in one Secrets Manager JSON (shape in docs/ecm.md); the caller fetches it and
passes the dict to `EcmConfig.from_secret`, so this module never talks to AWS and the client can be
built in tests from a literal. Secret values are kept out of `repr` and out of error messages.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

DEFAULT_PARTITION = "Content Server Members"


class AuthMode(StrEnum):
    OTDS = "otds"  # OAuth client credentials at OTDS, then a Content Server ticket for the token
    PASSWORD = "password"  # noqa: S105 - a mode name. POST /api/v1/auth with a Content Server service account


_SECRET_KEYS = frozenset(
    {
        "auth_mode",
        "base_url",
        "otds_url",
        "client_id",
        "client_secret",
        "partition",
        "username",
        "password",
        "act_as_user",
    }
)


def _http_url(name: str, value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"{name} must be an http(s) URL, got {value!r}")
    return value.rstrip("/")


@dataclass(frozen=True)
class EcmConfig:
    """Connection settings; immutable so one client instance can be shared by warm invocations.

    `base_url` is the Content Server CGI root the REST API hangs off (`.../otcs/cs.exe` or
    `.../cs/cs`), so requests go to `{base_url}/api/v1/...`. `otds_url` is the OTDS host; the token
    endpoint is `{otds_url}/otdsws/oauth2/token`. Budgets and timeouts are seconds.
    """

    base_url: str
    auth_mode: AuthMode
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    otds_url: str | None = None
    client_id: str | None = None
    client_secret: str | None = field(default=None, repr=False)
    partition: str = DEFAULT_PARTITION
    act_as_user: bool = False
    connect_timeout_s: float = 3.05
    read_timeout_s: float = 10.0
    max_attempts: int = 4
    backoff_base_s: float = 0.25
    backoff_max_s: float = 4.0
    default_budget_s: float = 20.0
    user_agent: str = "ecmpush/0.1"

    def __post_init__(self) -> None:
        object.__setattr__(self, "base_url", _http_url("base_url", self.base_url))
        object.__setattr__(self, "auth_mode", AuthMode(self.auth_mode))
        if self.auth_mode is AuthMode.PASSWORD:
            if not self.username or not self.password:
                raise ValueError("auth_mode 'password' needs username and password")
        else:
            if not self.otds_url or not self.client_id or not self.client_secret:
                raise ValueError("auth_mode 'otds' needs otds_url, client_id and client_secret")
            object.__setattr__(self, "otds_url", _http_url("otds_url", self.otds_url))
        if self.act_as_user and self.auth_mode is not AuthMode.OTDS:
            # Acting as another user needs OTDS token exchange; a Content Server password login
            # can only ever be the service account.
            raise ValueError("act_as_user needs auth_mode 'otds'")
        if min(self.connect_timeout_s, self.read_timeout_s, self.default_budget_s) <= 0:
            raise ValueError("timeouts and budget must be positive")
        if self.max_attempts < 1 or self.backoff_base_s < 0 or self.backoff_max_s < 0:
            raise ValueError("max_attempts must be >= 1 and backoff values >= 0")

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/api"

    @property
    def otds_token_url(self) -> str:
        return f"{self.otds_url}/otdsws/oauth2/token"

    @classmethod
    def from_secret(
        cls, secret: Mapping[str, Any], *, base_url: str | None = None, **overrides: Any
    ) -> EcmConfig:
        """Build from the ECM Secrets Manager JSON. `base_url` (usually from the environment)
        wins over a `base_url` in the secret; `overrides` set the tuning fields (timeouts,
        budget, act_as_user). Unknown secret keys are refused so a typo cannot silently fall
        back to another auth mode; messages name keys, never values."""
        unknown = sorted(set(secret) - _SECRET_KEYS)
        if unknown:
            raise ValueError(f"unknown keys in ECM secret: {unknown}")
        tuning = {f.name for f in fields(cls)} - _SECRET_KEYS
        bad = sorted(set(overrides) - tuning - {"act_as_user"})
        if bad:
            raise ValueError(f"unknown EcmConfig overrides: {bad}")
        url = base_url or secret.get("base_url")
        if not url:
            raise ValueError("base_url missing: pass it or put it in the secret")
        mode = secret.get("auth_mode") or (
            AuthMode.OTDS if secret.get("client_id") else AuthMode.PASSWORD
        )
        values: dict[str, Any] = {
            k: secret[k]
            for k in ("username", "password", "otds_url", "client_id", "client_secret")
            if secret.get(k)
        }
        if secret.get("partition"):
            values["partition"] = secret["partition"]
        if "act_as_user" in secret:
            values["act_as_user"] = _as_bool(secret["act_as_user"])
        values.update(overrides)
        return cls(base_url=str(url), auth_mode=AuthMode(mode), **values)


def _as_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "1", "yes"):
        return True
    if isinstance(value, str) and value.strip().lower() in ("false", "0", "no", ""):
        return False
    raise ValueError("act_as_user must be a boolean")
