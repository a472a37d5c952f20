"""Secrets Manager through Powertools parameters, cached per warm container.

Webhook secrets rotate: the active set is the `AWSCURRENT` version plus `AWSPREVIOUS` (if any),
so ECM senders keep working while they pick up a new value. Powertools' cache key ignores
`VersionStage`, so each stage gets its own provider (and its own cache)."""

from __future__ import annotations

import time
from typing import Any

from aws_lambda_powertools.utilities.parameters import SecretsProvider
from aws_lambda_powertools.utilities.parameters.exceptions import (
    GetParameterError,
    TransformParameterError,
)

from ecmpush.settings import ConfigurationError


class SecretStore:
    def __init__(self, max_age: int = 300, min_refresh_interval: float = 30.0) -> None:
        self._max_age = max_age
        self._min_refresh_interval = min_refresh_interval
        self._last_forced: dict[str, float] = {}
        self._current = SecretsProvider()
        self._previous = SecretsProvider()
        self._no_previous_until: dict[str, float] = {}

    def json(self, secret_id: str) -> dict[str, Any]:
        try:
            value = self._current.get(secret_id, max_age=self._max_age, transform="json")
        except TransformParameterError as exc:
            raise ConfigurationError(f"secret {secret_id} is not a JSON object") from exc
        if not isinstance(value, dict):
            raise ConfigurationError(f"secret {secret_id} is not a JSON object")
        return value

    def may_refresh(self, secret_id: str) -> bool:
        """A forced re-read is allowed once per interval, so a flood of badly signed requests
        cannot turn into a flood of Secrets Manager calls."""
        now = time.monotonic()
        if (
            now - self._last_forced.get(secret_id, -self._min_refresh_interval)
            < self._min_refresh_interval
        ):
            return False
        self._last_forced[secret_id] = now
        return True

    def text(self, secret_id: str, force: bool = False) -> str:
        value = self._current.get(secret_id, max_age=self._max_age, force_fetch=force)
        if not isinstance(value, str) or not value:
            raise ConfigurationError(f"secret {secret_id} is empty")
        return value

    def active_values(self, secret_id: str, force: bool = False) -> list[bytes]:
        """Current value first, then the previous one while it is still within rotation."""
        values = [self.text(secret_id, force).encode()]
        if force:
            # A forced read is how a rotation is noticed: whatever was remembered about
            # AWSPREVIOUS before it no longer holds.
            self._no_previous_until.pop(secret_id, None)
        elif self._no_previous_until.get(secret_id, 0.0) > time.monotonic():
            return values
        try:
            previous = self._previous.get(
                secret_id, max_age=self._max_age, force_fetch=force, VersionStage="AWSPREVIOUS"
            )
        except GetParameterError:
            # No rotation yet: remember that for as long as we would cache a value.
            self._no_previous_until[secret_id] = time.monotonic() + self._max_age
            return values
        if isinstance(previous, str) and previous:
            values.append(previous.encode())
        return values
