"""The expiry sweep's control items in RecordsTable (keys starting with `#`, never in the
`notices_due` index): a lease, so one run at a time works the due records, and the page the
Content Server search stopped before, so an interrupted search resumes there next run."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from ecmpush.adapters.dynamo import applied, conditional
from ecmpush.clock import rfc3339, sortable

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

_CONTROL_TTL = timedelta(days=7)


def _stamp(moment: datetime) -> str:
    """Lease times: to the microsecond, two runs a moment apart must not tie."""
    return sortable(moment, micro=True)


class SweepLeaseStore:
    def __init__(self, table: Table) -> None:
        self._table = table

    def acquire_lease(self, name: str, holder: str, until: datetime, now: datetime) -> bool:
        """Take the named lease until `until` unless another holder's lease is still running."""
        return applied(
            self._table.put_item,
            Item={
                "record_key": f"#lease:{name}",
                "holder": holder,
                "lease_until": _stamp(until),
                "expires_at_ttl": int((until + _CONTROL_TTL).timestamp()),
            },
            ConditionExpression=(
                "attribute_not_exists(record_key) OR lease_until < :now OR holder = :holder"
            ),
            ExpressionAttributeValues={":now": _stamp(now), ":holder": holder},
        )

    def release_lease(self, name: str, holder: str) -> None:
        conditional(
            self._table.delete_item,
            Key={"record_key": f"#lease:{name}"},
            ConditionExpression="holder = :holder",
            ExpressionAttributeValues={":holder": holder},
        )

    def resume_page(self, name: str, fingerprint: str) -> int:
        """The page a search stopped before (1 when it completed or its query changed)."""
        item = self._table.get_item(Key={"record_key": f"#search:{name}"}, ConsistentRead=True)
        found = item.get("Item")
        if not found or found.get("fingerprint") != fingerprint:
            return 1
        return max(int(str(found.get("next_page", 1))), 1)

    def save_resume_page(
        self, name: str, fingerprint: str, page: int | None, now: datetime
    ) -> None:
        """Remember where the search continues next run; None: it completed, start over."""
        key = {"record_key": f"#search:{name}"}
        if page is None:
            self._table.delete_item(Key=key)
            return
        self._table.put_item(
            Item={
                **key,
                "fingerprint": fingerprint,
                "next_page": page,
                "updated_at": rfc3339(now),
                "expires_at_ttl": int((now + _CONTROL_TTL).timestamp()),
            }
        )
