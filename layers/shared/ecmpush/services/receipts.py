"""`POST /me/receipts`: a device reports what became of the pushes it was sent. Each receipt is
judged against the caller's own delivery (domain/delivery/receipts.py) and the first report of
each kind is kept, one write per delivery at most; the answer says per receipt what happened,
so a client knows what to drop and what to send again. Why: docs/design/receipts.md."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ecmpush.domain.delivery.receipts import (
    CLOCK_SKEW,
    ReceiptBatch,
    ReceiptEvent,
    ReceiptResult,
    future_receipts,
    plan_receipts,
    time_to_open,
)
from ecmpush.domain.field_errors import FieldError
from ecmpush.domain.identity import Principal
from ecmpush.ports import ReceiptsPort


class ReceiptsRefused(Exception):
    """The request as a whole is refused (422): nothing was written."""

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__("receipts refused")
        self.errors = errors


@dataclass(frozen=True)
class FirstOpen:
    """A push opened for the first time on a device: the time-to-open metric's one sample."""

    flow: str
    stage: str
    seconds: float


@dataclass(frozen=True)
class ReceiptReport:
    results: tuple[ReceiptResult, ...]
    first_opens: tuple[FirstOpen, ...]
    writes: int

    def body(self) -> dict[str, Any]:
        counts = {result.value: 0 for result in ReceiptResult}
        for result in self.results:
            counts[result.value] += 1
        return {"results": [r.value for r in self.results], "counts": counts}


class ReceiptsService:
    def __init__(self, receipts: Callable[[], ReceiptsPort], clock: Callable[[], datetime]) -> None:
        self._receipts = receipts  # built on the first report (its repository loads boto3)
        self._clock = clock

    def report(self, principal: Principal, batch: ReceiptBatch) -> ReceiptReport:
        """Raises `ReceiptsRefused` when a receipt is dated in the future."""
        owner = principal.owner
        late = future_receipts(batch.receipts, self._clock())
        if late:
            message = f"later than now plus the allowed clock skew ({CLOCK_SKEW})"
            raise ReceiptsRefused([{"path": f"receipts.{i}.at", "message": message} for i in late])
        store = self._receipts()
        states = store.states(owner, [receipt.delivery for receipt in batch.receipts])
        plan = plan_receipts(batch.receipts, states)
        results = list(plan.results)
        first_opens: list[FirstOpen] = []
        for ref, reports in plan.writes.items():
            chosen = plan.recorded_by[ref]
            state = states[ref]
            earlier = store.record(owner, ref, state, reports)
            if earlier is None:  # no longer the sent delivery that was judged
                for index in chosen.values():
                    results[index] = ReceiptResult.UNKNOWN_DELIVERY
                continue
            for event in earlier:
                results[chosen[event]] = ReceiptResult.UNCHANGED
            opened = reports.get(ReceiptEvent.OPENED)
            if opened is not None and ReceiptEvent.OPENED not in earlier:
                first_opens.append(FirstOpen(state.flow, state.stage, time_to_open(state, opened)))
        return ReceiptReport(tuple(results), tuple(first_opens), len(plan.writes))
