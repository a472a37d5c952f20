"""The evidence timeline of one notification (issue 23 item 5): what ecmpush recorded in the
notification's item collection of DeliveriesTable, in time order: created, accepted or refused
by FCM per device, received / displayed / opened / dismissed as each device reported, what
preferences did, the reply (acted on), the decision and withdrawals. Read from the same items
as the inbox, so it is kept exactly as long as the delivery records (their TTL).

Item kinds (`sk`), as layers/shared/ecmpush/adapters/deliveries_repository.py writes them:
`#notification` (header), `d#<owner>#<installation>` (delivery), `p#<owner>` (preferences'
outcome), `i#<recipient>` (inbox entry), `r#<ecm_user>` (reply)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from boto3.dynamodb.conditions import Key

RECEIPTS = ("received", "displayed", "opened", "dismissed")
_DELIVERY_STATUS = {
    "sent": "accepted by FCM",
    "failed": "refused by FCM",
    "token_removed": "refused by FCM (token dead, device removed)",
    "retrying": "FCM answered a transient error (retrying)",
    "sending": "being sent",
    "no_device": "no registered device",
}


@dataclass(frozen=True)
class Entry:
    at: str
    what: str
    who: str = ""
    device: str = ""
    platform: str = ""
    detail: str = ""


def read_collection(table: Any, notification_id: str) -> list[dict[str, Any]]:
    """Every item of the notification (a Query of its partition, page by page)."""
    kwargs: dict[str, Any] = {
        "KeyConditionExpression": Key("notification_id").eq(notification_id),
        "ConsistentRead": True,
    }
    items: list[dict[str, Any]] = []
    while True:
        page = table.query(**kwargs)
        items += [dict(item) for item in page.get("Items", [])]
        if "LastEvaluatedKey" not in page:
            return items
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _header(item: Mapping[str, Any]) -> Iterable[Entry]:
    notification = item.get("notification") or {}
    task = notification.get("task") or {}
    where = "/".join(str(task.get(k)) for k in ("process_id", "subprocess_id", "task_id"))
    detail = f"{notification.get('type')} ({notification.get('category')})"
    yield Entry(
        str(item.get("created_at")), "created", detail=detail + (f" task {where}" if task else "")
    )
    decision = item.get("decision")
    if isinstance(decision, Mapping) and decision.get("at"):
        yield Entry(
            str(decision["at"]),
            f"decided: {decision.get('action')}",
            who=str(decision.get("by", "")),
            platform=str(decision.get("platform", "")),
        )


def _delivery(item: Mapping[str, Any]) -> Iterable[Entry]:
    who, device = str(item.get("owner", "")), str(item.get("installation_id", ""))
    platform = str(item.get("platform", ""))
    status = str(item.get("status"))
    detail = str(item.get("fcm_message_id") or item.get("error_code") or "")
    at = str(item.get("created_at") or item.get("updated_at"))
    yield Entry(at, _DELIVERY_STATUS.get(status, status), who, device, platform, detail)
    for kind in RECEIPTS:
        if item.get(f"{kind}_at"):
            yield Entry(str(item[f"{kind}_at"]), kind, who, device, platform)
    if item.get("withdrawn_at"):
        reason = str(item.get("withdrawal") or "")
        yield Entry(str(item["withdrawn_at"]), "withdrawn", who, device, platform, reason)


def _reply(item: Mapping[str, Any]) -> Iterable[Entry]:
    who = str(item.get("owner", ""))
    device, platform = str(item.get("installation_id", "")), str(item.get("platform", ""))
    comment = " (with a comment)" if item.get("comment") else ""
    yield Entry(
        str(item.get("replied_at")),
        f"acted on: {item.get('action')}{comment}",
        who,
        device,
        platform,
    )
    if item.get("status") and item.get("updated_at") and item.get("status") != "queued":
        yield Entry(str(item["updated_at"]), f"reply {item['status']} in Content Server", who)


def _read(item: Mapping[str, Any]) -> Iterable[Entry]:
    if item.get("read_at"):
        yield Entry(str(item["read_at"]), "marked read", str(item.get("recipient", "")))


def _policy(item: Mapping[str, Any]) -> Iterable[Entry]:
    detail = str(item.get("detail") or "")
    yield Entry(
        str(item.get("updated_at")),
        f"preferences: {item.get('outcome')}",
        str(item.get("owner", "")),
        detail=detail,
    )


_BY_KIND = {"#": _header, "d": _delivery, "r": _reply, "i": _read, "p": _policy}


def _order(entry: Entry) -> tuple[float, str]:
    """Time order; an entry whose time does not parse (or has no offset) goes last."""
    try:
        moment = datetime.fromisoformat(entry.at)
    except ValueError:
        return float("inf"), entry.what
    return (moment.timestamp() if moment.tzinfo else float("inf")), entry.what


def build(items: Iterable[Mapping[str, Any]]) -> list[Entry]:
    """The entries of a notification's items, oldest first (a time that does not parse last)."""
    entries: list[Entry] = []
    for item in items:
        kind = str(item.get("sk", ""))[:1]
        entries += _BY_KIND.get(kind, lambda _: ())(item)
    return sorted(entries, key=_order)


def as_json(entries: Iterable[Entry]) -> list[dict[str, str]]:
    return [asdict(entry) for entry in entries]


def render(entries: Iterable[Entry]) -> str:
    rows = [(e.at, e.what, e.who, e.device, e.platform, e.detail) for e in entries]
    if not rows:
        return "no items for this notification (unknown id, or expired with its TTL)"
    header = ("at", "what", "who", "device", "platform", "detail")
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    lines = [
        "  ".join(str(v).ljust(w) for v, w in zip(r, widths, strict=True)).rstrip()
        for r in [header, *rows]
    ]
    return "\n".join(lines)
