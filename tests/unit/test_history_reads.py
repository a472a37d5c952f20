"""Finding 8 of issue 9 (the inbox part): an inbox entry reads only the caller's rows of a
notification (its header and reply by key, its deliveries by `begins_with`), never the whole
item collection of a broadcast."""

from __future__ import annotations

from typing import Any

from ecmpush.adapters.history_repository import HistoryRepository


class RecordingTable:
    def __init__(self) -> None:
        self.queries: list[dict[str, Any]] = []
        self.gets: list[dict[str, Any]] = []

    def query(self, **kwargs: Any) -> dict[str, Any]:
        self.queries.append(kwargs)
        if kwargs.get("IndexName") == "by_recipient":
            return {"Items": [{"notification_id": "n-1", "recipient": "asmith", "sk": "i#asmith"}]}
        return {"Items": []}

    def get_item(self, **kwargs: Any) -> dict[str, Any]:
        self.gets.append(kwargs["Key"])
        return {}


def test_an_inbox_page_reads_only_the_callers_rows() -> None:
    table = RecordingTable()
    page = HistoryRepository(table).page("asmith", 20, None)  # type: ignore[arg-type]
    assert [e["notification_id"] for e in page.items] == ["n-1"]
    [collection_query] = [q for q in table.queries if "IndexName" not in q]
    condition = collection_query["KeyConditionExpression"].get_expression()
    assert condition["operator"] == "AND"
    sk_condition = condition["values"][1].get_expression()
    assert sk_condition["operator"] == "begins_with"
    assert sk_condition["values"][1] == "d#asmith#"
    assert table.gets == [
        {"notification_id": "n-1", "sk": "#notification"},
        {"notification_id": "n-1", "sk": "r#asmith"},
    ]
