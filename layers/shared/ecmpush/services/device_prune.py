"""Token hygiene: remove devices whose registration was not refreshed for `stale_days`, one
check-and-delete each, stopping before the Lambda's time runs out.
Why: docs/design/device-registrations.md."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from ecmpush.clock import rfc3339
from ecmpush.domain.delivery.devices import RefreshEntry
from ecmpush.ports import DevicesPort

LOOKBACK_MONTHS = 12


@dataclass
class DevicePruneReport:
    """Every examined device lands in exactly one of pruned / skipped."""

    cutoff: str  # devices whose updated_at is before this are stale
    examined: int = 0
    pruned: int = 0
    skipped: int = 0  # refreshed or removed since the index showed it (or not a device)
    complete: bool = True  # False when the run stopped before the end of the window
    stopped: str | None = None  # "time_budget"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def month_buckets(cutoff: datetime, lookback_months: int = LOOKBACK_MONTHS) -> list[str]:
    """The `refresh_bucket` values a run reads, oldest first: (cutoff month - lookback) up to
    and including the cutoff month (UTC)."""
    cutoff = cutoff.astimezone(UTC)
    index = cutoff.year * 12 + cutoff.month - 1
    return [f"{i // 12:04d}-{i % 12 + 1:02d}" for i in range(index - lookback_months, index + 1)]


class DevicePruneService:
    def __init__(
        self,
        *,
        devices: DevicesPort,
        stale_days: int,
        lookback_months: int = LOOKBACK_MONTHS,
        page_size: int = 100,
        safety_margin_s: float = 10.0,
    ) -> None:
        if stale_days < 1:
            raise ValueError("stale_days must be at least 1")
        self._devices = devices
        self._stale = timedelta(days=stale_days)
        self._lookback = lookback_months
        self._page_size = page_size
        self._margin_ms = safety_margin_s * 1000

    def cutoff(self, now: datetime) -> datetime:
        return (now - self._stale).astimezone(UTC)

    def run(self, now: datetime, remaining_ms: Callable[[], int]) -> DevicePruneReport:
        """Prune as of `now`. `remaining_ms` is read before each page and each device: the run
        stops while the safety margin still fits, and says so."""
        cutoff = self.cutoff(now)
        before = rfc3339(cutoff)
        report = DevicePruneReport(cutoff=before)
        for bucket in month_buckets(cutoff, self._lookback):
            cursor: str | None = None
            while True:
                if remaining_ms() < self._margin_ms:
                    return _stop(report)
                page = self._devices.not_refreshed_since(bucket, before, self._page_size, cursor)
                for entry in page.items:
                    if remaining_ms() < self._margin_ms:
                        return _stop(report)
                    report.examined += 1
                    if self._prune(entry):
                        report.pruned += 1
                    else:
                        report.skipped += 1
                if page.last:
                    break
                cursor = page.cursor
        return report

    def _prune(self, entry: RefreshEntry) -> bool:
        # Preferences ("#preferences") never carry a refresh_bucket; should anything "#..."
        # ever show up in the index, it is not a device and is left alone.
        if entry.installation_id.startswith("#"):
            return False
        return self._devices.delete_if_not_refreshed(
            entry.owner, entry.installation_id, entry.updated_at
        )


def _stop(report: DevicePruneReport) -> DevicePruneReport:
    report.complete = False
    report.stopped = "time_budget"
    return report
