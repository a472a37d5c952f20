"""Who a delivery batch reaches: each recipient with the devices of the notification's
audience, read a BatchGetItem's worth per pool thread."""

from __future__ import annotations

from concurrent.futures import Executor
from itertools import batched

from ecmpush.domain.delivery.notifications import Notification
from ecmpush.domain.delivery.preferences import Preferences
from ecmpush.domain.delivery.recipient import Recipient
from ecmpush.domain.user_ids import EXTERNAL_PREFIX, is_external
from ecmpush.ports import DevicesPort

ROSTERS_PER_CALL = 50  # a BatchGetItem: roster and preferences of each


class AudienceResolver:
    def __init__(self, devices: DevicesPort, pool: Executor) -> None:
        self._devices = devices
        self._pool = pool

    def reach(self, notification: Notification, owners: list[str]) -> dict[str, Recipient]:
        """Each recipient with the devices of the notification's audience. The audience
        decides, never the spelling of the recipient: an internal notification never reaches
        an external device, nor the other way round (those recipients are left out, and the
        plan records them as `wrong_audience`)."""
        if notification.audience == "internal":
            return self._internal([o for o in owners if not is_external(o)])
        lookups = {
            owner: self._pool.submit(
                self._devices.for_external, owner.removeprefix(EXTERNAL_PREFIX)
            )
            for owner in owners
            if owner.startswith(EXTERNAL_PREFIX)
        }
        # External stakeholders keep no preferences with ecmpush: the defaults apply.
        return {
            owner: Recipient(owner, tuple(lookup.result()), Preferences())
            for owner, lookup in lookups.items()
        }

    def _internal(self, internal: list[str]) -> dict[str, Recipient]:
        parts = [
            self._pool.submit(self._devices.recipients, part)
            for part in batched(internal, ROSTERS_PER_CALL, strict=False)
        ]
        found: dict[str, Recipient] = {}
        for part in parts:
            found.update(part.result())
        return {
            owner: Recipient(
                owner,
                tuple(d for d in found[owner].devices if d.audience == "internal"),
                found[owner].preferences,
            )
            for owner in internal
        }

    def forget_token(self, owner: str, installation_id: str, token: str) -> bool:
        """FCM said the token is dead: delete the device unless it registered a new one."""
        return self._devices.delete_if_token(owner, installation_id, token)
