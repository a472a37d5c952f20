"""The scheduled relay poll's memory (RelayPollFunction, `senders/relay/state.py`): one JSON
document with a revision number, a control item of RecordsTable (`#relay:state`: like the
expiry sweep's lease, a key starting with `#`, never in the `notices_due` index, and the only
key the function's role may read or write there). A write names the revision it
read and is refused when another run wrote meanwhile, so two overlapping runs cannot both record
what they delivered; the loser's events are sent again next run and answered `duplicate`."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ecmpush.adapters.dynamo import applied

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

ITEM_KEY = {"record_key": "#relay:state"}


class RelayStateConflict(RuntimeError):
    """Another run wrote the state since this one read it: nothing of this write was kept."""


class RelayStateItem:
    def __init__(self, table: Table) -> None:
        self._table = table

    def read(self) -> tuple[Mapping[str, Any] | None, int]:
        """The document and its revision; (None, 0) before the first write."""
        item = self._table.get_item(Key=ITEM_KEY, ConsistentRead=True).get("Item")
        if not item:
            return None, 0
        document = json.loads(str(item["document"]))
        if not isinstance(document, dict):
            raise ValueError("RecordsTable #relay:state: the relay state is not a JSON object")
        return document, int(str(item["revision"]))

    def write(self, document: Mapping[str, Any], expected_revision: int) -> None:
        """Store `document` as revision `expected_revision + 1`, only over `expected_revision`."""
        condition = (
            "attribute_not_exists(record_key)" if expected_revision == 0 else "revision = :read"
        )
        values = {":read": expected_revision} if expected_revision else None
        written = applied(
            self._table.put_item,
            Item={
                **ITEM_KEY,
                "revision": expected_revision + 1,
                "document": json.dumps(document, separators=(",", ":")),
            },
            ConditionExpression=condition,
            **({"ExpressionAttributeValues": values} if values else {}),
        )
        if not written:
            raise RelayStateConflict(f"the relay state moved past revision {expected_revision}")
