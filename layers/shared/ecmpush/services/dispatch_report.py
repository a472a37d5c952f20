"""What one dispatch message came to (`DispatchReport`, summed from the parts that did the
work), and `RetryLater`, the answer that sends the SQS message back."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, fields


@dataclass(frozen=True)
class DispatchReport:
    sent: int = 0
    failed: int = 0
    removed: int = 0
    no_device: int = 0
    skipped: int = 0
    retrying: int = 0
    muted: int = 0
    deferred: int = 0
    batches: int = 0  # delivery batches queued by a fan-out
    group_pages: int = 0  # pages of Content Server groups queued
    groups_refused: int = 0  # groups not sent to: unknown, not listable or too large
    unreached: int = 0  # devices left for the retry because the deadline came near
    held: int = 0  # devices left for the retry because FCM asked the project to pause
    requeued: int = 0  # the message queued again for what was unreached or held
    withdrawn: int = 0  # withdrawal pushes FCM took (services/withdrawal.py)
    platform_auth: int = 0  # APNs/web-push credential errors (alarmed, never pruned)
    credentials_suspect: bool = False  # "wrong project" for most tokens: nothing pruned, alarmed
    retry_after: tuple[float, ...] = ()

    @classmethod
    def merge(cls, reports: Iterable[DispatchReport]) -> DispatchReport:
        """The sum of `reports`: counts added, `credentials_suspect` if any, all Retry-Afters."""
        counts = {f.name: 0 for f in fields(cls) if f.type == "int"}
        suspect = False
        retry_after: list[float] = []
        for report in reports:
            for name in counts:
                counts[name] += getattr(report, name)
            suspect |= report.credentials_suspect
            retry_after.extend(report.retry_after)
        return cls(**counts, credentials_suspect=suspect, retry_after=tuple(retry_after))

    def __add__(self, other: DispatchReport) -> DispatchReport:
        return DispatchReport.merge((self, other))

    @property
    def waiting(self) -> int:
        """Devices this attempt did not finish: a transient answer, the deadline, FCM's pause."""
        return self.retrying + self.unreached + self.held

    @property
    def delay(self) -> float | None:
        """The longest Retry-After met, None when none was."""
        return max(self.retry_after) if self.retry_after else None


class RetryLater(Exception):
    """Some devices of this message got a transient answer, or were not reached before the
    deadline; retry the SQS item (only those). `report` says what the attempt did meanwhile."""

    def __init__(
        self,
        message: str,
        retry_after_seconds: float | None = None,
        report: DispatchReport | None = None,
    ) -> None:
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds
        self.report = report
