"""Registered installations in DynamoDB: pk `owner`, sk `installation_id` (docs/resources.md).

Every registration or refresh also sets `refresh_bucket`, the UTC month ("YYYY-MM") of its
`updated_at`: the sparse `by_refresh` index (pk `refresh_bucket`, sk `updated_at`) lets the
device prune sweep find devices not refreshed since a cutoff without a Scan. `token_hash`
(SHA-256 of the FCM token) feeds `by_token`, which keeps one owner per token. Preferences items
(`installation_id = #preferences`) are written elsewhere and never carry it."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError

from ecmpush.adapters.dynamo import is_conditional_failure, iso
from ecmpush.domain.devices import Device

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

BY_INSTALLATION = "by_installation"
BY_EXTERNAL_ID = "by_external_id"
BY_REFRESH = "by_refresh"
BY_TOKEN = "by_token"  # noqa: S105 (an index name)


def token_hash(token: str) -> str:
    """The `by_token` key: FCM tokens can be longer than a DynamoDB index key may be."""
    return hashlib.sha256(token.encode()).hexdigest()


def refresh_bucket(moment: datetime) -> str:
    """The `by_refresh` partition of a device refreshed at `moment`: its UTC month."""
    return moment.astimezone(UTC).strftime("%Y-%m")


@dataclass(frozen=True)
class RefreshEntry:
    """A device as the `by_refresh` index (keys only) shows it; `updated_at` is the stored text,
    exactly as a conditional delete must compare it."""

    owner: str
    installation_id: str
    updated_at: str


@dataclass(frozen=True)
class RefreshPage:
    entries: list[RefreshEntry]
    next_key: dict[str, Any] | None  # pass back as `start_key`; None when the query is done


class DevicesRepository:
    def __init__(self, table: Table) -> None:
        self._table = table

    def upsert(self, device: Device) -> datetime | None:
        """Create or refresh a registration; returns the first registration time when it already
        existed (it survives refreshes), None when it is new."""
        values: dict[str, Any] = {
            ":token": device.token,
            ":token_hash": token_hash(device.token),
            ":platform": device.platform,
            ":audience": device.audience,
            ":updated": iso(device.updated_at),
            ":bucket": refresh_bucket(device.updated_at),
            ":created": iso(device.created_at),
        }
        sets = [
            "#token = :token",
            "token_hash = :token_hash",
            "platform = :platform",
            "audience = :audience",
            "updated_at = :updated",
            "refresh_bucket = :bucket",
            "created_at = if_not_exists(created_at, :created)",
        ]
        names = {"#token": "token"}
        removes = []
        for name in ("locale", "timezone", "app_version", "external_id"):
            names[f"#{name}"] = name  # `timezone` is a DynamoDB reserved word
            value = getattr(device, name)
            if value is None:
                removes.append(f"#{name}")
            else:
                sets.append(f"#{name} = :{name}")
                values[f":{name}"] = value
        expression = "SET " + ", ".join(sets) + (" REMOVE " + ", ".join(removes) if removes else "")
        response = self._table.update_item(
            Key={"owner": device.owner, "installation_id": device.installation_id},
            UpdateExpression=expression,
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
            ReturnValues="ALL_OLD",
        )
        previous = response.get("Attributes", {}).get("created_at")
        return datetime.fromisoformat(str(previous)) if previous else None

    def delete(self, owner: str, installation_id: str) -> bool:
        response = self._table.delete_item(
            Key={"owner": owner, "installation_id": installation_id}, ReturnValues="ALL_OLD"
        )
        return bool(response.get("Attributes"))

    def delete_if_token(self, owner: str, installation_id: str, token: str) -> bool:
        """Remove a dead token, unless the app re-registered a fresh one meanwhile."""
        try:
            self._table.delete_item(
                Key={"owner": owner, "installation_id": installation_id},
                ConditionExpression="#token = :token",
                ExpressionAttributeNames={"#token": "token"},
                ExpressionAttributeValues={":token": token},
            )
        except ClientError as exc:
            if is_conditional_failure(exc):
                return False
            raise
        return True

    def not_refreshed_since(
        self,
        bucket: str,
        before: str,
        limit: int,
        start_key: dict[str, Any] | None = None,
    ) -> RefreshPage:
        """One page of the devices of month `bucket` whose `updated_at` (stored text) is before
        `before`, oldest first. The index is eventually consistent: a device may since have been
        refreshed or removed, which `delete_if_not_refreshed` finds out."""
        kwargs: dict[str, Any] = {
            "IndexName": BY_REFRESH,
            "KeyConditionExpression": Key("refresh_bucket").eq(bucket)
            & Key("updated_at").lt(before),
            "Limit": limit,
        }
        if start_key:
            kwargs["ExclusiveStartKey"] = start_key
        page = self._table.query(**kwargs)
        entries = [
            RefreshEntry(str(i["owner"]), str(i["installation_id"]), str(i["updated_at"]))
            for i in page.get("Items", [])
        ]
        return RefreshPage(entries, page.get("LastEvaluatedKey"))

    def delete_if_not_refreshed(self, owner: str, installation_id: str, updated_at: str) -> bool:
        """Remove a stale device, unless it was refreshed (or removed) since `updated_at` was
        read: False then, and the device stays as it is."""
        try:
            self._table.delete_item(
                Key={"owner": owner, "installation_id": installation_id},
                ConditionExpression="updated_at = :read",
                ExpressionAttributeValues={":read": updated_at},
            )
        except ClientError as exc:
            if is_conditional_failure(exc):
                return False
            raise
        return True

    def for_owner(self, owner: str) -> list[Device]:
        items: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {"KeyConditionExpression": Key("owner").eq(owner)}
        while True:
            page = self._table.query(**kwargs)
            items.extend(page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        # The owner's partition also holds their preferences ("#..." keys): not devices.
        return [
            Device.model_validate(i) for i in items if not str(i["installation_id"]).startswith("#")
        ]

    def for_external(self, external_id: str) -> list[Device]:
        """Devices registered for the external audience by this external stakeholder."""
        page = self._table.query(
            IndexName=BY_EXTERNAL_ID, KeyConditionExpression=Key("external_id").eq(external_id)
        )
        devices = [Device.model_validate(item) for item in page.get("Items", [])]
        return [d for d in devices if d.audience == "external"]

    def get(self, owner: str, installation_id: str) -> Device | None:
        item = self._table.get_item(Key={"owner": owner, "installation_id": installation_id}).get(
            "Item"
        )
        return Device.model_validate(item) if item else None

    def owners_of(self, installation_id: str) -> list[str]:
        page = self._table.query(
            IndexName=BY_INSTALLATION,
            KeyConditionExpression=Key("installation_id").eq(installation_id),
        )
        return [str(item["owner"]) for item in page.get("Items", [])]

    def holders_of_token(self, token: str) -> list[tuple[str, str]]:
        """(owner, installation id) of every registration holding this FCM token."""
        page = self._table.query(
            IndexName=BY_TOKEN, KeyConditionExpression=Key("token_hash").eq(token_hash(token))
        )
        return [(str(i["owner"]), str(i["installation_id"])) for i in page.get("Items", [])]
