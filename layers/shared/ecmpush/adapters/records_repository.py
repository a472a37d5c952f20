"""RecordsTable: records with an expiry date, pk `record_key` (the node id).

While a stage of a record is still ahead, the item carries `notice_bucket = "due"` and
`next_notice_at` (fixed-width UTC), which put it in the sparse `notices_due` index the expiry
sweep queries (never a Scan); the last stage removes both. `windows_sent` / `windows_passed`
(string sets) hold the stages done for the stored `expires_at`; TTL `expires_at_ttl` is the
expiry plus the retention days.

The sweep's lease and the search's resume page are items of this table too, kept by
`adapters/sweep_lease_store.py` (keys starting with `#`, never in the index)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from ecmpush.adapters.dynamo import applied, conditional
from ecmpush.adapters.dynamo_cursor import due_page
from ecmpush.clock import rfc3339, sortable
from ecmpush.domain.intake.events import Record
from ecmpush.domain.page import Page
from ecmpush.domain.sweeps.expiry import TrackedRecord

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

INDEX = "notices_due"
DUE_BUCKET = "due"


def _expires(moment: datetime) -> str:
    """`expires_at` as stored and compared: UTC, fixed width (renewal = a different string)."""
    return sortable(moment)


def _tracked_record(item: dict[str, Any]) -> TrackedRecord:
    return TrackedRecord.model_validate(
        {
            **item,
            "owners": list(item.get("owners") or []),
            "notify_roles": list(item.get("notify_roles") or []),
            "windows_sent": set(item.get("windows_sent") or ()),
            "windows_passed": set(item.get("windows_passed") or ()),
        }
    )


class RecordsRepository:
    def __init__(self, table: Table, retention_days: int) -> None:
        self._table = table
        self._retention = timedelta(days=retention_days)

    # -- records ---------------------------------------------------------------------------------

    def upsert_from_event(
        self,
        record: Record,
        owners: Sequence[str],
        notify_roles: Sequence[str],
        source: str,
        now: datetime,
    ) -> str:
        """Store what ECM says about a record: "updated" (same `expires_at`: name, owners and
        roles refreshed, the stages done are kept), "created" or "renewed" (a different
        `expires_at`: the stages done are cleared and the record enters the index as due now,
        so the next sweep decides its stage and schedules the next one). No read-modify-write:
        each step is conditional, so concurrent writers cannot mix two expiry dates."""
        expires_at = _expires(record.expires_at)
        for _ in range(3):
            if self._refresh(record, expires_at, owners, notify_roles, source, now):
                return "updated"
            outcome = self._replace(record, expires_at, owners, notify_roles, source, now)
            if outcome is not None:
                return outcome
        raise RuntimeError(f"record {record.node_id}: expires_at kept changing under the upsert")

    def _refresh(
        self,
        record: Record,
        expires_at: str,
        owners: Sequence[str],
        notify_roles: Sequence[str],
        source: str,
        now: datetime,
    ) -> bool:
        values: dict[str, Any] = {
            ":e": expires_at,
            ":name": record.name,
            ":kind": record.kind,
            ":owners": list(dict.fromkeys(owners)),
            ":roles": list(dict.fromkeys(notify_roles)),
            ":source": source,
            ":now": rfc3339(now),
        }
        update = (
            "SET #name = :name, kind = :kind, owners = :owners, notify_roles = :roles, "
            "#source = :source, updated_at = :now"
        )
        if record.url:
            update += ", #url = :url"
            values[":url"] = record.url
        else:
            update += " REMOVE #url"
        return applied(
            self._table.update_item,
            Key={"record_key": record.node_id},
            UpdateExpression=update,
            ConditionExpression="expires_at = :e",
            ExpressionAttributeNames={"#name": "name", "#source": "source", "#url": "url"},
            ExpressionAttributeValues=values,
        )

    def _replace(
        self,
        record: Record,
        expires_at: str,
        owners: Sequence[str],
        notify_roles: Sequence[str],
        source: str,
        now: datetime,
    ) -> str | None:
        item: dict[str, Any] = {
            "record_key": record.node_id,
            "node_id": record.node_id,
            "name": record.name,
            "kind": record.kind,
            "expires_at": expires_at,
            "owners": list(dict.fromkeys(owners)),
            "notify_roles": list(dict.fromkeys(notify_roles)),
            "source": source,
            "updated_at": rfc3339(now),
            "notice_bucket": DUE_BUCKET,
            "next_notice_at": sortable(now),
            "expires_at_ttl": int((record.expires_at + self._retention).timestamp()),
        }
        if record.url:
            item["url"] = record.url
        answer = conditional(
            self._table.put_item,
            Item=item,
            ConditionExpression="attribute_not_exists(record_key) OR expires_at <> :e",
            ExpressionAttributeValues={":e": expires_at},
            ReturnValues="ALL_OLD",
        )
        if answer is None:
            return None  # someone stored this very expires_at meanwhile: refresh instead
        old = answer.get("Attributes")
        return "renewed" if old else "created"

    def get(self, record_key: str) -> TrackedRecord | None:
        item = self._table.get_item(Key={"record_key": record_key}, ConsistentRead=True).get("Item")
        return _tracked_record(item) if item and not record_key.startswith("#") else None

    def due(self, now: datetime, limit: int, cursor: str | None = None) -> Page[TrackedRecord]:
        """One page of records whose next notice is at or before `now`, oldest first. The index
        only finds them: each record is then read from the table with a consistent read, so a
        stage another sweep just recorded is seen (index reads may lag)."""
        page = due_page(
            self._table,
            key="record_key",
            index=INDEX,
            bucket=("notice_bucket", DUE_BUCKET),
            due=("next_notice_at", sortable(now)),
            limit=limit,
            cursor=cursor,
        )
        keys = list(dict.fromkeys(str(item["record_key"]) for item in page.items))
        fresh = self._read_consistently(keys)
        records = tuple(_tracked_record(fresh[key]) for key in keys if key in fresh)
        return Page(records, page.cursor)

    def _read_consistently(self, keys: list[str]) -> dict[str, dict[str, Any]]:
        # The resource's client (un)marshals attribute values itself, like the Table does.
        client = self._table.meta.client
        found: dict[str, dict[str, Any]] = {}
        for start in range(0, len(keys), 100):
            request: dict[str, Any] = {
                self._table.name: {
                    "Keys": [{"record_key": key} for key in keys[start : start + 100]],
                    "ConsistentRead": True,
                }
            }
            while request:
                answer = client.batch_get_item(RequestItems=request)
                for item in answer.get("Responses", {}).get(self._table.name, []):
                    found[str(item["record_key"])] = dict(item)
                request = dict(answer.get("UnprocessedKeys") or {})
        return found

    def mark_window(
        self,
        record_key: str,
        expires_at: datetime,
        window: str,
        next_notice_at: datetime | None,
        *,
        notified: bool = True,
        passed: Sequence[str] = (),
    ) -> bool:
        """Record that `window` was announced (or, `notified=False`, went by silently) for this
        `expires_at`, with the looser `passed` stages, and schedule the next notice; without
        one the record leaves the index. Conditional on the record still having this
        `expires_at` and `window` not being done yet, so of two overlapping sweeps exactly one
        marks it (the other gets False)."""
        names = {"#sent": "windows_sent", "#passed": "windows_passed"}
        values: dict[str, Any] = {
            ":e": _expires(expires_at),
            ":w": window,
        }
        add = []
        sent = {window} if notified else set()
        skipped = set(passed) | (set() if notified else {window})
        if sent:
            add.append("#sent :sent")
            values[":sent"] = sent
        if skipped:
            add.append("#passed :passed")
            values[":passed"] = skipped
        update = "ADD " + ", ".join(add)
        if next_notice_at is None:
            update += " REMOVE notice_bucket, next_notice_at"
        else:
            update += " SET next_notice_at = :next"
            values[":next"] = sortable(next_notice_at)
        return applied(
            self._table.update_item,
            Key={"record_key": record_key},
            UpdateExpression=update,
            ConditionExpression=(
                "expires_at = :e AND NOT contains(#sent, :w) AND NOT contains(#passed, :w)"
            ),
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
        )

    def reschedule(
        self, record_key: str, expires_at: datetime, next_notice_at: datetime | None
    ) -> bool:
        """Move a record's next notice without recording a stage (nothing was due: a record
        just stored, or windows reconfigured); None takes it out of the index."""
        values: dict[str, Any] = {":e": _expires(expires_at)}
        if next_notice_at is None:
            update = "REMOVE notice_bucket, next_notice_at"
        else:
            update = "SET next_notice_at = :next"
            values[":next"] = sortable(next_notice_at)
        return applied(
            self._table.update_item,
            Key={"record_key": record_key},
            UpdateExpression=update,
            ConditionExpression="expires_at = :e AND attribute_exists(notice_bucket)",
            ExpressionAttributeValues=values,
        )
