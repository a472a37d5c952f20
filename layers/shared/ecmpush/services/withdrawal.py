"""Dispatch's handler of `WithdrawalMessage`: find every notification sent about the task (the
`by_task` index), the deliveries still on a device, mark each withdrawn once, and send each
device the data-only `withdrawn` push. Why: docs/design/withdrawal.md."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor, Future
from datetime import datetime
from itertools import batched
from typing import Any

from ecmpush.clock import Deadline
from ecmpush.domain.delivery.devices import Device
from ecmpush.domain.delivery.messages import WithdrawalMessage
from ecmpush.domain.delivery.outcomes import NO_DEVICE_ID, DeliveryStatus, SendVerdict
from ecmpush.domain.delivery.withdrawal import (
    KEPT_TYPES,
    Withdrawn,
    keeps_push,
    withdrawal_push,
)
from ecmpush.domain.ecm.errors import EcmError, EcmNotFound, EcmUnavailable
from ecmpush.domain.ecm.task_ref import TaskRef
from ecmpush.ports import ContentServer, DeliveriesPort, DevicesPort, Publisher, PushSender
from ecmpush.services.delivery import wait_all
from ecmpush.services.dispatch_report import DispatchReport, RetryLater

log = logging.getLogger(__name__)

HOLDERS_BUDGET_SECONDS = 5.0  # asking Content Server who holds a reassigned step
HOLDERS_RETRY_SECONDS = 30.0


class WithdrawalHandler:
    def __init__(
        self,
        *,
        deliveries: DeliveriesPort,
        devices: DevicesPort,
        sender: PushSender,
        holders: Callable[[], ContentServer] | None,
        clock: Callable[[], datetime],
        pool: Executor,
        queue: Publisher,
        send_chunk: int,
        reserve_seconds: float,
    ) -> None:
        self._deliveries = deliveries
        self._devices = devices
        self._sender = sender
        self._holders = holders
        self._clock = clock
        self._pool = pool
        self._queue = queue
        self._send_chunk = send_chunk
        self._reserve = reserve_seconds  # kept back from the deadline before a chunk starts

    def handle(self, message: WithdrawalMessage, deadline: Deadline) -> DispatchReport:
        now = self._clock()
        keep_owners = set(message.keep_owners)
        if message.ask_holders:
            holders = self._current_holders(message.task)
            if holders is None:
                # Nobody can confirm who still holds the step (a group step's members arrive
                # as one assignment each): withdrawing on a guess could empty their screens.
                return DispatchReport()
            keep_owners |= holders
        headers = [h for h in self._deliveries.about_task(message.task.key) if _is_withdrawable(h)]
        on_devices = _results(
            [
                self._pool.submit(self._deliveries.deliveries, str(h["notification_id"]))
                for h in headers
            ]
        )
        targets: list[tuple[dict[str, Any], dict[str, Any]]] = []
        for header, items in zip(headers, on_devices, strict=True):
            nid = str(header["notification_id"])
            targets += [
                (header, item)
                for item in items
                if _on_device(item)
                and not keeps_push(
                    str(item["owner"]),
                    nid,
                    keep_owners=keep_owners,
                    keep_notifications=message.keep_notifications,
                )
            ]
        decided = {str(h["notification_id"]) for h, _ in targets}
        if not keep_owners and not message.keep_notifications:
            decided |= {str(h["notification_id"]) for h in headers}  # the task is done for all
        # Written while the pushes go out: the 409 reads the task's decision, not these.
        recorded = self._pool.submit(
            self._deliveries.record_decision, sorted(decided), message.decision
        )
        report = self._withdraw(message, targets, now, deadline)
        wait_all([recorded])
        return report

    def _withdraw(
        self,
        message: WithdrawalMessage,
        targets: Sequence[tuple[dict[str, Any], dict[str, Any]]],
        now: datetime,
        deadline: Deadline,
    ) -> DispatchReport:
        """Mark and send a chunk at a time; when the invocation's end nears, the message goes
        back on the queue and its next run finds the chunks done marked (never sent twice)."""
        if not targets:
            return DispatchReport()
        owners = list(dict.fromkeys(str(item["owner"]) for _, item in targets))
        devices: dict[tuple[str, str], Device] = {
            (owner, d.installation_id): d
            for owner, recipient in self._devices.recipients(owners).items()
            for d in recipient.devices
        }
        reports: list[DispatchReport] = []
        for chunk in batched(targets, self._send_chunk, strict=False):
            if deadline.remaining() < self._reserve:
                self._queue.publish(message)
                reports.append(DispatchReport(requeued=1))
                break
            reports.append(self._send(self._mark(message, chunk, devices, now), message))
        return DispatchReport.merge(reports)

    def _current_holders(self, task: TaskRef) -> set[str] | None:
        """Who Content Server lists as the step's holders now (every member of a group step
        nobody accepted yet): their pushes stay. None when Content Server cannot say (no
        settings, the service account may not see the workflow): logged, nothing withdrawn.
        Content Server down: the message waits and asks again."""
        if self._holders is None:
            log.warning("reassigned task %s: no Content Server settings, nothing withdrawn", task)
            return None
        try:
            status = self._holders().workflow_status(
                task.process_id, budget_s=HOLDERS_BUDGET_SECONDS
            )
        except EcmNotFound:
            return set()  # the workflow is gone: nobody holds the step any more
        except EcmUnavailable as exc:
            raise RetryLater(
                f"holders of {task}: {exc}", exc.retry_after or HOLDERS_RETRY_SECONDS
            ) from exc
        except EcmError as exc:
            log.error("reassigned task %s: holders unknown (%s), nothing withdrawn", task, exc)
            return None
        step = status.current_step(task)
        return {m.login for m in step.assignees} if step is not None else set()

    def _mark(
        self,
        message: WithdrawalMessage,
        targets: Sequence[tuple[dict[str, Any], dict[str, Any]]],
        devices: Mapping[tuple[str, str], Device],
        now: datetime,
    ) -> list[Withdrawn]:
        """Mark each delivery withdrawn (once: a repeated message finds them marked) and pair
        the marked ones with their device; a device deleted meanwhile gets nothing."""
        marked = self._deliveries.withdraw(
            [
                (str(header["notification_id"]), str(item["owner"]), str(item["installation_id"]))
                for header, item in targets
            ],
            message.reason,
            now,
        )
        withdrawn: list[Withdrawn] = []
        for (header, item), done in zip(targets, marked, strict=True):
            device = devices.get((str(item["owner"]), str(item["installation_id"])))
            if not done or device is None or device.installation_id in message.confirmed_on:
                continue
            sent = header.get("notification") or {}
            withdrawn.append(
                Withdrawn(
                    notification_id=str(header["notification_id"]),
                    task=message.task,
                    task_title=str((sent.get("params") or {}).get("task_title") or ""),
                    device=device,
                )
            )
        return withdrawn

    def _send(self, withdrawn: list[Withdrawn], message: WithdrawalMessage) -> DispatchReport:
        """Send in chunks; a withdrawal FCM does not take now is not retried (its delivery is
        marked): the card and the action token's 409 still say who decided."""
        reports = [DispatchReport()]
        for chunk in batched(withdrawn, self._send_chunk, strict=False):
            results = self._sender.send([withdrawal_push(w, message.decision) for w in chunk])
            for item, result in zip(chunk, results, strict=True):
                if result.verdict is SendVerdict.SENT:
                    reports.append(DispatchReport(withdrawn=1))
                elif result.verdict is SendVerdict.INVALID_TOKEN:
                    device = item.device
                    self._devices.delete_if_token(
                        device.owner, device.installation_id, device.token
                    )
                    reports.append(DispatchReport(removed=1))
                else:
                    log.warning(
                        "withdrawal of %s not taken by FCM: %s",
                        item.notification_id,
                        result.error_code,
                    )
                    reports.append(DispatchReport(failed=1))
        return DispatchReport.merge(reports)


def _is_withdrawable(header: dict[str, Any]) -> bool:
    sent = header.get("notification") or {}
    return str(sent.get("type") or "") not in ("", *KEPT_TYPES) and sent.get("task") is not None


def _on_device(item: dict[str, Any]) -> bool:
    return (
        item.get("status") == DeliveryStatus.SENT.value
        and "withdrawn_at" not in item
        and item.get("installation_id") != NO_DEVICE_ID
    )


def _results[T](futures: Sequence[Future[T]]) -> list[T]:
    wait_all(futures)
    return [f.result() for f in futures]
