"""Device registration use case (contract §2). The owner always comes from the verified token;
an installation that changes hands (a shared tablet, a reinstall under another login) leaves its
previous owner, so pushes for one person never reach another's screen."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Protocol

from ecmpush.domain.devices import Device, DeviceRegistration
from ecmpush.domain.identity import Principal


class Forbidden(Exception):
    """Authenticated, but not allowed to do this (403)."""


class DeviceStore(Protocol):
    def upsert(self, device: Device) -> datetime | None: ...
    def delete(self, owner: str, installation_id: str) -> bool: ...
    def owners_of(self, installation_id: str) -> list[str]: ...


class DevicesService:
    def __init__(self, store: DeviceStore, clock: Callable[[], datetime]) -> None:
        self._store = store
        self._clock = clock

    def register(
        self, principal: Principal, installation_id: str, registration: DeviceRegistration
    ) -> tuple[Device, bool]:
        if registration.audience == "external" and not principal.external_id:
            raise Forbidden("external registration needs the external id claim in the ID token")
        owner = principal.owner
        for previous in self._store.owners_of(installation_id):
            if previous != owner:
                self._store.delete(previous, installation_id)
        now = self._clock()
        device = Device(
            owner=owner,
            installation_id=installation_id,
            token=registration.token,
            platform=registration.platform,
            locale=registration.locale,
            timezone=registration.timezone,
            app_version=registration.app_version,
            audience=registration.audience,
            external_id=principal.external_id if registration.audience == "external" else None,
            created_at=now,
            updated_at=now,
        )
        first_registered = self._store.upsert(device)
        if first_registered is None:
            return device, True
        return device.model_copy(update={"created_at": first_registered}), False

    def unregister(self, principal: Principal, installation_id: str) -> bool:
        """False when the caller owns no such installation (404, whoever else may own it)."""
        return self._store.delete(principal.owner, installation_id)
