"""Device registration (contract §2); the owner always comes from the verified token.
Why: docs/design/device-registrations.md."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from ecmpush.domain.delivery.devices import (
    Device,
    DeviceLimitReached,
    DeviceRegistration,
    TokenHeld,
)
from ecmpush.domain.delivery.installation_ids import weak_installation_id
from ecmpush.domain.identity import Principal
from ecmpush.ports import DevicesPort

DEFAULT_MAX_DEVICES = 10
# Writes refused because concurrent registrations of the same user filled the cap first; each
# refusal means another registration succeeded.
_WRITE_ATTEMPTS = 5


class Forbidden(Exception):
    """Authenticated, but not allowed to do this (403)."""


class DeviceConflict(Exception):
    """The installation or the FCM token is registered to another user (409)."""


class WeakInstallationId(ValueError):
    """A new installation id of a shape that could be guessed (issue 9): nothing is stored."""


class DevicesService:
    def __init__(
        self,
        store: DevicesPort,
        clock: Callable[[], datetime],
        max_devices: int = DEFAULT_MAX_DEVICES,
    ) -> None:
        if max_devices < 1:
            raise ValueError("max_devices must be at least 1")
        self._store = store
        self._clock = clock
        self._max_devices = max_devices

    def register(
        self, principal: Principal, installation_id: str, registration: DeviceRegistration
    ) -> tuple[Device, bool]:
        weak = weak_installation_id(installation_id)
        if weak is not None:
            raise WeakInstallationId(weak)
        if registration.audience == "external" and not principal.external_id:
            raise Forbidden("external registration needs the external id claim in the ID token")
        owner = principal.owner
        token = registration.token
        moving_from = self._previous_owners(owner, installation_id, token)
        duplicates = self._own_duplicates(owner, installation_id, token)
        for previous in moving_from:
            self._store.delete(previous, installation_id)
        for duplicate in duplicates:  # the same phone under an older installation id
            self._store.delete(owner, duplicate)
        now = self._clock()
        device = Device(
            owner=owner,
            installation_id=installation_id,
            token=token,
            platform=registration.platform,
            locale=registration.locale,
            timezone=registration.timezone,
            app_version=registration.app_version,
            audience=registration.audience,
            external_id=principal.external_id if registration.audience == "external" else None,
            created_at=now,
            updated_at=now,
        )
        first_registered = self._write(device)
        if first_registered is None:
            return device, True
        return device.model_copy(update={"created_at": first_registered}), False

    def _write(self, device: Device) -> datetime | None:
        """Upsert within the cap: room is made first, and again when concurrent registrations
        filled it meanwhile (the store refuses the write then, so the cap always holds)."""
        for _ in range(_WRITE_ATTEMPTS):
            if self._store.get(device.owner, device.installation_id) is None:
                self._make_room(device.owner)
            try:
                return self._store.upsert(device, self._max_devices)
            except TokenHeld as exc:
                raise DeviceConflict("this push token is registered to another user") from exc
            except DeviceLimitReached:
                continue
        raise DeviceConflict("too many registrations for this user at once; try again")

    def _previous_owners(self, owner: str, installation_id: str, token: str) -> list[str]:
        """Other owners of this installation, refused unless the caller proves it is the same
        device by presenting the token it holds."""
        others = [o for o in self._store.owners_of(installation_id) if o != owner]
        for other in others:
            held = self._store.get(other, installation_id)
            if held is not None and held.token != token:
                raise DeviceConflict("this installation is registered to another user")
        return others

    def _own_duplicates(self, owner: str, installation_id: str, token: str) -> list[str]:
        """The caller's other installations with this token; refused if another user holds it."""
        duplicates = []
        for holder, held_installation in self._store.holders_of_token(token):
            if holder == owner:
                if held_installation != installation_id:
                    duplicates.append(held_installation)
            elif held_installation != installation_id:
                raise DeviceConflict("this push token is registered to another user")
        return duplicates

    def _make_room(self, owner: str) -> None:
        """Keep a new installation within the cap by retiring the least recently refreshed."""
        devices = sorted(self._store.for_owner(owner), key=lambda d: d.updated_at)
        for stale in devices[: max(0, len(devices) - self._max_devices + 1)]:
            self._store.delete(owner, stale.installation_id)

    def unregister(self, principal: Principal, installation_id: str) -> bool:
        """False when the caller owns no such installation (404, whoever else may own it)."""
        return self._store.delete(principal.owner, installation_id)
