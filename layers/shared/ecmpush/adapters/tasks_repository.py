"""Tracked workflow tasks: pk `task_key`. While a task is open and has an SLA step left, the
sparse pair `sla_bucket` ("due") / `sla_next_at` (when that step is due, `clock.sortable`)
puts it in the `sla_due` index the SLA sweep queries; both disappear when the task closes or
its ladder is done, so the index only ever holds work. `sla_next_at` is the earliest of the
next SLA step, the not-seen check (`unseen_at`, domain/sweeps/unseen.py) and the snooze
(`snooze_at`, domain/sweeps/snooze.py); each write that moves one of them is conditional on the
others being as the writer read them, so none is lost from the index."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.types import TypeDeserializer
from botocore.exceptions import ClientError

from ecmpush.adapters.dynamo import applied, conditional, is_conditional_failure
from ecmpush.adapters.dynamo_cursor import due_page
from ecmpush.clock import rfc3339, sortable
from ecmpush.domain.delivery.withdrawal import Decision, decision_item
from ecmpush.domain.page import Page
from ecmpush.domain.sweeps.sla import DONE, SlaPolicy
from ecmpush.domain.sweeps.tasks import TrackedTask
from ecmpush.domain.sweeps.unseen import UNSEEN_DONE

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

_DESERIALIZER = TypeDeserializer()
SLA_INDEX = "sla_due"
SLA_BUCKET = "due"

# Refreshed when the same task is assigned again with the same due time (a redelivered event,
# a reassignment): everything but the SLA progress and the first opening.
_REFRESHED = (
    "title",
    "stage",
    "assignee",
    "supervisor",
    "backup",
    "priority",
    "document_name",
    "document_node_id",
    "notification_id",
)


class TasksRepository:
    def __init__(
        self, table: Table, retention_days: int, sla_policy: SlaPolicy | None = None
    ) -> None:
        self._table = table
        self._retention = timedelta(days=retention_days)
        self._sla = sla_policy or SlaPolicy()

    def open(self, task: TrackedTask) -> TrackedTask | None:
        """Track a newly assigned task with its SLA ladder at the first step, unless it was
        already closed (events can arrive out of order: a completion must not be undone by a
        late assignment). Without a due time in the event, the default SLA for its stage and
        priority counts from the assignment (`assigned_at`, the event's time, so a redelivered
        event computes the same due time).

        Assigned again while open: a new due time restarts the ladder; the same due time keeps
        the SLA progress (a redelivered event must not remind twice) and refreshes the rest.

        Returns the task as it was tracked before (None: new), read from the refused write
        itself, so a reassignment is seen without another round trip."""
        due_at = task.due_at or self._sla.default_due(
            task.stage, task.priority, task.assigned_at or task.opened_at
        )
        item: dict[str, Any] = {
            k: v
            for k, v in task.model_copy(update={"due_at": due_at, "sla_level": 0})
            .model_dump(mode="json")
            .items()
            if v is not None
        }
        item["due_at"] = _due_text(due_at)
        item["sla_bucket"] = SLA_BUCKET
        first = min(due_at, task.unseen_at) if task.unseen_at else due_at
        item["sla_next_at"] = sortable(first)
        item["expires_at"] = int((task.opened_at + self._retention).timestamp())
        try:
            self._table.put_item(
                Item=item,
                ConditionExpression="attribute_not_exists(task_key)",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
            return None
        except ClientError as exc:
            if not is_conditional_failure(exc):
                raise
            earlier = self._earlier(task.task_key, exc)
        restart = "#status = :open AND (attribute_not_exists(due_at) OR due_at <> :due)"
        if not self._put(
            item, restart, {"#status": "status"}, {":open": "open", ":due": item["due_at"]}
        ):
            self._refresh(item)
        return earlier

    def _earlier(self, key: str, refused: ClientError) -> TrackedTask | None:
        """The item a refused create found (DynamoDB returns it with ALL_OLD), else read."""
        wire: dict[str, Any] | None = refused.response.get("Item")  # type: ignore[assignment]
        if not wire:
            return self.get(key)
        return _tracked(key, {k: _DESERIALIZER.deserialize(v) for k, v in wire.items()})

    def _put(
        self,
        item: dict[str, Any],
        condition: str,
        names: dict[str, str] | None = None,
        values: dict[str, Any] | None = None,
    ) -> bool:
        kwargs: dict[str, Any] = {"Item": item, "ConditionExpression": condition}
        if names:
            kwargs["ExpressionAttributeNames"] = names
        if values:
            kwargs["ExpressionAttributeValues"] = values
        return applied(self._table.put_item, **kwargs)

    def _refresh(self, item: dict[str, Any]) -> None:
        sets = [f"#{n} = :{n}" for n in _REFRESHED if n in item]
        removes = [f"#{n}" for n in _REFRESHED if n not in item]
        expression = "SET " + ", ".join(sets)
        if removes:
            expression += " REMOVE " + ", ".join(removes)
        conditional(
            self._table.update_item,
            Key={"task_key": item["task_key"]},
            UpdateExpression=expression,
            ConditionExpression="#status = :open",
            ExpressionAttributeNames={"#status": "status", **{f"#{n}": n for n in _REFRESHED}},
            ExpressionAttributeValues={
                ":open": "open",
                **{f":{n}": item[n] for n in _REFRESHED if n in item},
            },
        )
        # (not applied when the task was closed meanwhile: it stays closed)

    def close(
        self, key: str, outcome: str | None, now: datetime, decision: Decision | None = None
    ) -> None:
        """Close (creating a closed marker when the task was never seen open); the task leaves
        the SLA index. `decision` is kept from the first close that names one, so a late
        `task.completed` does not overwrite who approved from a push."""
        sets = (
            "SET #status = :closed, closed_at = :now, outcome = :outcome, "
            "expires_at = if_not_exists(expires_at, :expires)"
        )
        values: dict[str, Any] = {
            ":closed": "closed",
            ":now": rfc3339(now),
            ":outcome": outcome or "completed",
            ":expires": int((now + self._retention).timestamp()),
        }
        if decision is not None:
            sets += ", decision = if_not_exists(decision, :decision)"
            values[":decision"] = decision_item(decision)
        self._table.update_item(
            Key={"task_key": key},
            UpdateExpression=f"{sets} REMOVE sla_bucket, sla_next_at",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues=values,
        )

    def get(self, key: str) -> TrackedTask | None:
        item = self._table.get_item(Key={"task_key": key}, ConsistentRead=True).get("Item")
        return _tracked(key, item) if item is not None else None

    def due(self, now: datetime, limit: int, cursor: str | None = None) -> Page[str]:
        """One page (at most `limit` items read) of tasks whose next SLA step is due at `now`,
        oldest step first, from the sparse index: never a Scan. The index is eventually
        consistent: callers re-read each task (`get`) before acting on it."""
        page = due_page(
            self._table,
            key="task_key",
            index=SLA_INDEX,
            bucket=("sla_bucket", SLA_BUCKET),
            due=("sla_next_at", sortable(now)),
            limit=limit,
            cursor=cursor,
        )
        return Page(tuple(str(item["task_key"]) for item in page.items), page.cursor)

    def advance(
        self,
        task_key: str,
        from_level: int,
        to_level: int,
        next_at: datetime | None,
        *,
        due_at: datetime,
        step: dict[str, Any] | None = None,
        snooze_at: datetime | None = None,
    ) -> bool:
        """Move an open task's ladder from `from_level` to `to_level` (due again at `next_at`, or
        out of the index when None), appending `step` to its `sla_steps` history; the ladder's
        end also ends a pending not-seen check. Conditional on
        the task being open, at `from_level` and on the same due time, so of two overlapping
        sweeps exactly one climbs each step; False when the condition did not hold. `next_at`
        includes the task's pending snooze, `snooze_at` as read: a snooze written meanwhile
        fails the condition instead of leaving the index."""
        names = {"#status": "status"}
        values: dict[str, Any] = {
            ":open": "open",
            ":from": from_level,
            ":to": to_level,
            ":due": _due_text(due_at),
            ":steps": [step] if step is not None else [],
            ":none": [],
        }
        sets = [
            "sla_level = :to",
            "sla_steps = list_append(if_not_exists(sla_steps, :none), :steps)",
        ]
        removes = []
        if to_level >= DONE:  # the ladder's end ends a pending not-seen check too
            sets.append("unseen_level = :unseen_done")
            values[":unseen_done"] = UNSEEN_DONE
            removes.append("unseen_at")
        if next_at is not None:
            sets += ["sla_bucket = :bucket", "sla_next_at = :next"]
            values |= {":bucket": SLA_BUCKET, ":next": sortable(next_at)}
        else:
            removes += ["sla_bucket", "sla_next_at"]
        expression = "SET " + ", ".join(sets)
        if removes:
            expression += " REMOVE " + ", ".join(removes)
        at_level = "sla_level = :from"
        if from_level == 0:  # tasks tracked before the SLA ladder existed have no level yet
            at_level = "(attribute_not_exists(sla_level) OR sla_level = :from)"
        unchanged, snooze_values = _snooze_as_read(snooze_at)
        return applied(
            self._table.update_item,
            Key={"task_key": task_key},
            UpdateExpression=expression,
            ConditionExpression=f"#status = :open AND due_at = :due AND {at_level} AND {unchanged}",
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values | snooze_values,
        )

    def advance_unseen(
        self,
        task: TrackedTask,
        to_level: int,
        unseen_at: datetime | None,
        next_at: datetime | None,
        *,
        escalates: bool = False,
        step: dict[str, Any] | None = None,
    ) -> bool:
        """Move the not-seen check of `task` (as read) to `to_level`, due again at `unseen_at`
        (None: done), the task's next check at `next_at`; with `escalates`, the SLA ladder
        ends too (the early escalation). Conditional on the task being open with the same
        not-seen level, SLA level and snooze as read: of two sweeps one moves it, and an
        escalation the ladder made meanwhile is never made twice."""
        sets = ["unseen_level = :to"]
        removes = []
        values: dict[str, Any] = {":open": "open", ":to": to_level, ":from": task.unseen_level}
        if unseen_at is not None:
            sets.append("unseen_at = :unseen")
            values[":unseen"] = rfc3339(unseen_at)
        else:
            removes.append("unseen_at")
        if escalates:
            sets.append("sla_level = :done")
            values[":done"] = DONE
        if step is not None:
            sets.append("sla_steps = list_append(if_not_exists(sla_steps, :none), :steps)")
            values |= {":steps": [step], ":none": []}
        return self._reschedule(task, sets, removes, values, next_at, "unseen_level = :from")

    def snooze(self, task: TrackedTask, until: datetime) -> bool:
        """Snooze `task` (as read) until `until`; its next check is the earlier of that and
        its next SLA step, which the snooze never moves. The not-seen check ends (the assignee
        saw the push). Conditional on the snoozes, levels and the pending snooze being as read,
        so of two snoozes at once one counts, never more than the bound the caller checked."""
        sla_at = self._sla.step_at(task.sla_level, task.due_at) if task.due_at else None
        next_at = min(sla_at, until) if sla_at else until
        sets = ["snooze_at = :until", "snoozes = :count", "unseen_level = :seen"]
        values: dict[str, Any] = {
            ":open": "open",
            ":until": rfc3339(until),
            ":count": task.snoozes + 1,
            ":read": task.snoozes,
            ":seen": UNSEEN_DONE,
        }
        at_count = "(attribute_not_exists(snoozes) OR snoozes = :read)"
        return self._reschedule(task, sets, ["unseen_at"], values, next_at, at_count)

    def wake(self, task: TrackedTask, next_at: datetime | None) -> bool:
        """The snoozed push went out: the snooze ends, the task's next check is `next_at`."""
        return self._reschedule(task, [], ["snooze_at"], {":open": "open"}, next_at, None)

    def _reschedule(
        self,
        task: TrackedTask,
        sets: list[str],
        removes: list[str],
        values: dict[str, Any],
        next_at: datetime | None,
        condition: str | None,
    ) -> bool:
        if next_at is not None:
            sets = [*sets, "sla_bucket = :bucket", "sla_next_at = :next"]
            values = values | {":bucket": SLA_BUCKET, ":next": sortable(next_at)}
        else:
            removes = [*removes, "sla_bucket", "sla_next_at"]
        expression = ("SET " + ", ".join(sets)) if sets else ""
        if removes:
            expression += " REMOVE " + ", ".join(removes)
        level = "(attribute_not_exists(sla_level) OR sla_level = :level)"
        unchanged, snooze_values = _snooze_as_read(task.snooze_at)
        conditions = ["#status = :open", level, unchanged, *([condition] if condition else [])]
        return applied(
            self._table.update_item,
            Key={"task_key": task.task_key},
            UpdateExpression=expression.strip(),
            ConditionExpression=" AND ".join(conditions),
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues=values | snooze_values | {":level": task.sla_level},
        )


def _snooze_as_read(snooze_at: datetime | None) -> tuple[str, dict[str, Any]]:
    """The condition that the task's pending snooze is still `snooze_at` (None: none)."""
    if snooze_at is None:
        return "attribute_not_exists(snooze_at)", {}
    return "snooze_at = :snoozed", {":snoozed": rfc3339(snooze_at)}


def _tracked(key: str, item: dict[str, Any]) -> TrackedTask:
    if "opened_at" not in item:
        return _closed_marker(key, item)
    return TrackedTask.model_validate(item)


def _due_text(due_at: datetime) -> str:
    """Stored in UTC, so the conditions comparing it see one spelling per instant."""
    return rfc3339(due_at.astimezone(UTC))


def _closed_marker(key: str, item: dict[str, Any]) -> TrackedTask:
    """A completion that arrived before (or without) its assignment."""
    process_id, subprocess_id, task_id = [*key.split("/", 2), "", ""][:3]
    return TrackedTask(
        task_key=key,
        process_id=process_id,
        subprocess_id=subprocess_id,
        task_id=task_id,
        title="",
        stage="task",
        assignee="",
        status="closed",
        opened_at=datetime.fromisoformat(str(item.get("closed_at"))),
        outcome=str(item.get("outcome") or "completed"),
        decision=item.get("decision"),
    )
