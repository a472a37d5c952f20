"""One recipient as Dispatch needs them: where they can be reached and what they asked for.

Read together because they live together (one owner's partition of DevicesTable) and because
Dispatch decides on both at once: preferences first (muted, deferred), then the devices."""

from __future__ import annotations

from dataclasses import dataclass

from ecmpush.domain.delivery.devices import Device
from ecmpush.domain.delivery.preferences import Preferences


@dataclass(frozen=True)
class Recipient:
    owner: str
    devices: tuple[Device, ...]
    preferences: Preferences
