"""Registered installations in DynamoDB (pk `owner`, sk `installation_id`), one owner per FCM
token, a per-user cap, changed in transactions.
Why: docs/design/device-registrations.md."""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from itertools import batched
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError

from ecmpush.adapters.dynamo_batch import MAX_TRANSACT, TransactionConflict, batch_get, transact
from ecmpush.adapters.dynamo_cursor import from_cursor, to_cursor
from ecmpush.adapters.preferences_repository import PREFERENCES_KEY, preferences_of
from ecmpush.clock import rfc3339
from ecmpush.domain.delivery.devices import Device, DeviceLimitReached, RefreshEntry, TokenHeld
from ecmpush.domain.delivery.preferences import Preferences
from ecmpush.domain.delivery.recipient import Recipient
from ecmpush.domain.page import Page

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

BY_INSTALLATION = "by_installation"
BY_EXTERNAL_ID = "by_external_id"
BY_REFRESH = "by_refresh"
BY_TOKEN = "by_token"  # noqa: S105 (an index name)
# Every device of one owner in one item, kept in step with the device items by transactions,
# so Dispatch reads a whole audience with BatchGetItem instead of a Query per user.
log = logging.getLogger(__name__)

ROSTER_KEY = "#roster"
TOKEN_CLAIM_PREFIX = "#token#"  # noqa: S105 (a key prefix)
TOKEN_CLAIM_KEY = "#holder"  # noqa: S105 (a sort key)
TOKEN_CLAIM_LIFETIME = timedelta(days=365)  # renewed by every registration with the token
_COMMIT_ATTEMPTS = 4
_ROSTER_FIELDS = (
    "owner", "installation_id", "token", "platform", "locale", "timezone", "app_version",
    "audience", "external_id", "created_at", "updated_at",
)  # fmt: skip


def _roster_entry(item: dict[str, Any]) -> dict[str, Any]:
    """What Dispatch needs of a device (not its index keys)."""
    return {k: item[k] for k in _ROSTER_FIELDS if item.get(k) is not None}


def _key_equals(name: str, value: str) -> dict[str, Any]:
    """A key condition as text. Dispatch queries from several threads at once, and boto3 builds
    `Key(...)` conditions with one builder per client that each call resets: two threads
    building at once can swap placeholders. Text needs no builder."""
    return {
        "KeyConditionExpression": "#k = :k",
        "ExpressionAttributeNames": {"#k": name},
        "ExpressionAttributeValues": {":k": value},
    }


def token_hash(token: str) -> str:
    """The `by_token` key: FCM tokens can be longer than a DynamoDB index key may be."""
    return hashlib.sha256(token.encode()).hexdigest()


def token_claim_key(token: str) -> dict[str, str]:
    """Where the claim on an FCM token lives: a partition no user id can name."""
    return {"owner": f"{TOKEN_CLAIM_PREFIX}{token_hash(token)}", "installation_id": TOKEN_CLAIM_KEY}


class _ClaimRefused(Exception):
    """The token claim's condition failed: someone else holds it (perhaps stale)."""


def refresh_bucket(moment: datetime) -> str:
    """The `by_refresh` partition of a device refreshed at `moment`: its UTC month."""
    return moment.astimezone(UTC).strftime("%Y-%m")


_REFRESH_KEYS = frozenset({"owner", "installation_id", "refresh_bucket", "updated_at"})


class DevicesRepository:
    def __init__(self, table: Table) -> None:
        self._table = table

    def upsert(self, device: Device, max_devices: int | None = None) -> datetime | None:
        """Create or refresh a registration; returns the first registration time when it already
        existed (it survives refreshes), None when it is new. Raises `DeviceLimitReached` when
        it would be the owner's installation number `max_devices + 1`, `TokenHeld` when another
        owner's live registration holds the token: both checked in the write (design page)."""
        previous = self._table.get_item(
            Key={"owner": device.owner, "installation_id": device.installation_id},
            ConsistentRead=True,
        ).get("Item")
        first = datetime.fromisoformat(str(previous["created_at"])) if previous else None
        stored = device.model_copy(update={"created_at": first or device.created_at})
        item = {
            **stored.model_dump(mode="json", exclude_none=True),
            "token_hash": token_hash(device.token),
            "refresh_bucket": refresh_bucket(device.updated_at),
            "created_at": rfc3339(stored.created_at),
            "updated_at": rfc3339(stored.updated_at),
        }
        stale: str | None = None
        for _ in range(_COMMIT_ATTEMPTS):
            claim = self._token_claim(device, stale)
            try:
                self._commit(
                    device.owner,
                    device.installation_id,
                    {"Put": {"Item": item}},
                    item,
                    cap=max_devices,
                    guards=[claim],
                )
                return first
            except _ClaimRefused:
                stale = self._stale_claim(device.token)
        raise TransactionConflict(f"the claim on a push token of {device.owner!r} kept changing")

    @staticmethod
    def _token_claim(device: Device, stale: str | None) -> dict[str, Any]:
        """The claim put: allowed when nobody holds the token, the owner does, or the holder
        is the stale claim `stale` (its `claim_id`) read just before."""
        condition = "attribute_not_exists(holder) OR holder = :holder"
        values: dict[str, Any] = {":holder": device.owner}
        if stale is not None:
            condition += " OR claim_id = :stale"
            values[":stale"] = stale
        expires = device.updated_at + TOKEN_CLAIM_LIFETIME
        item = {
            **token_claim_key(device.token),
            "holder": device.owner,
            "holder_installation": device.installation_id,
            "claim_id": uuid.uuid4().hex,
            "expires_at": int(expires.timestamp()),
        }
        body = {"Item": item, "ConditionExpression": condition}
        return {"Put": {**body, "ExpressionAttributeValues": values}}

    def _stale_claim(self, token: str) -> str | None:
        """The `claim_id` of a claim on `token` whose holder no longer has a device holding it
        (consistent reads); raises `TokenHeld` when the holder still does."""
        claim = self._table.get_item(Key=token_claim_key(token), ConsistentRead=True).get("Item")
        if claim is None:
            return None
        held = self._table.get_item(
            Key={"owner": claim["holder"], "installation_id": claim["holder_installation"]},
            ConsistentRead=True,
        ).get("Item")
        if held is not None and held.get("token_hash") == token_hash(token):
            raise TokenHeld("this push token is registered to another user")
        return str(claim["claim_id"])

    def delete(self, owner: str, installation_id: str) -> bool:
        return self._commit(owner, installation_id, self._delete(owner, installation_id), None)

    def delete_if_token(self, owner: str, installation_id: str, token: str) -> bool:
        """Remove a dead token, unless the app re-registered a fresh one meanwhile."""
        action = self._delete(
            owner, installation_id, "#token = :token", {"#token": "token"}, {":token": token}
        )
        return self._commit(owner, installation_id, action, None)

    def delete_if_not_refreshed(self, owner: str, installation_id: str, updated_at: str) -> bool:
        """Remove a stale device, unless it was refreshed (or removed) since `updated_at` was
        read: False then, and the device stays as it is."""
        action = self._delete(
            owner, installation_id, "updated_at = :read", {}, {":read": updated_at}
        )
        return self._commit(owner, installation_id, action, None)

    @staticmethod
    def _delete(
        owner: str,
        installation_id: str,
        condition: str = "attribute_exists(installation_id)",
        names: dict[str, str] | None = None,
        values: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "Key": {"owner": owner, "installation_id": installation_id},
            "ConditionExpression": condition,
        }
        if names:
            body["ExpressionAttributeNames"] = names
        if values:
            body["ExpressionAttributeValues"] = values
        return {"Delete": body}

    def _commit(
        self,
        owner: str,
        installation_id: str,
        action: dict[str, Any],
        entry: dict[str, Any] | None,
        *,
        cap: int | None = None,
        guards: Sequence[dict[str, Any]] = (),
    ) -> bool:
        """Apply one write to a device (`entry` is its new item, None for a removal) and keep the
        owner's roster in step in the same transaction. False when the write's own condition
        failed (nothing changed). With `cap`, a device the roster does not hold yet is written
        only while the roster holds fewer than `cap` (else `DeviceLimitReached`); `guards` are
        further transaction items that must pass (else `_ClaimRefused`).

        The roster exists only once it was built from a consistent read of every device and
        has been kept in step since, so Dispatch may trust it; without one, Dispatch queries.
        A roster is built by the first registration that finds none, with a check that no
        device read for it changed before it commits."""
        roster_key = {"owner": owner, "installation_id": ROSTER_KEY}
        names = {"#iid": installation_id, "#owner": "owner"}
        for _ in range(_COMMIT_ATTEMPTS):
            keep = {
                "Key": roster_key,
                "ConditionExpression": "attribute_exists(#owner)",
                "ExpressionAttributeNames": names,
            }
            if entry is None:
                keep["UpdateExpression"] = "REMOVE devices.#iid"
            else:
                values: dict[str, Any] = {":entry": _roster_entry(entry)}
                keep["UpdateExpression"] = "SET devices.#iid = :entry"
                keep["ExpressionAttributeValues"] = values
                if cap is not None:
                    keep["ConditionExpression"] = (
                        "attribute_exists(#owner) AND "
                        "(attribute_exists(devices.#iid) OR size(devices) < :cap)"
                    )
                    values[":cap"] = cap
            refused = {r.index for r in transact(self._table, [action, {"Update": keep}, *guards])}
            if not refused:
                return True
            if 0 in refused:
                return False
            if refused - {0, 1}:
                raise _ClaimRefused
            if cap is not None and entry is not None and self._roster_is_full(owner, cap):
                raise DeviceLimitReached(f"{owner!r} has {cap} installations")
            # No roster yet.
            if entry is None:
                absent = {
                    "Key": roster_key,
                    "ConditionExpression": "attribute_not_exists(#owner)",
                    "ExpressionAttributeNames": {"#owner": "owner"},
                }
                refused = {
                    r.index for r in transact(self._table, [action, {"ConditionCheck": absent}])
                }
            else:
                build = self._build_roster(owner, entry, cap)
                items = [action, *build, *guards]
                refused = {r.index for r in transact(self._table, items)}
                if refused & set(range(1 + len(build), len(items))):
                    raise _ClaimRefused
            if not refused:
                return True
            if 0 in refused:
                return False
        raise TransactionConflict(f"devices of {owner!r} kept changing; try again")

    def _roster_is_full(self, owner: str, cap: int) -> bool:
        """True when the owner's roster exists and holds `cap` devices or more (consistent)."""
        roster = self._table.get_item(
            Key={"owner": owner, "installation_id": ROSTER_KEY}, ConsistentRead=True
        ).get("Item")
        devices = roster.get("devices") if roster is not None else None
        return isinstance(devices, dict) and len(devices) >= cap

    def _build_roster(
        self, owner: str, entry: dict[str, Any], cap: int | None = None
    ) -> list[dict[str, Any]]:
        """Transaction items that create the roster from the devices as they are now, plus
        `entry`, guarded by one check per device read (unchanged since) and by the roster's
        absence. With `cap`, `DeviceLimitReached` when that would be more than `cap` devices."""
        others = [
            item
            for item in self._owner_items(owner, consistent=True)
            if item["installation_id"] != entry["installation_id"]
        ]
        if cap is not None and len(others) >= cap:
            raise DeviceLimitReached(f"{owner!r} has {len(others)} installations")
        roster = {
            "owner": owner,
            "installation_id": ROSTER_KEY,
            "devices": {
                str(item["installation_id"]): _roster_entry(item) for item in [*others, entry]
            },
        }
        put = {
            "Item": roster,
            "ConditionExpression": "attribute_not_exists(#owner)",
            "ExpressionAttributeNames": {"#owner": "owner"},
        }
        checks = [
            {
                "ConditionCheck": {
                    "Key": {"owner": owner, "installation_id": item["installation_id"]},
                    "ConditionExpression": "updated_at = :read",
                    "ExpressionAttributeValues": {":read": item["updated_at"]},
                }
            }
            for item in others
        ]
        return [{"Put": put}, *checks]

    def _seal_empty(self, owners: Sequence[str]) -> None:
        """Empty rosters for `owners`, who a consistent read just showed to have no device.
        Safe beside a registration: every device write since rosters exist goes through
        `_commit`, so a device never appears without the roster learning of it; each roster is
        put only where none exists (a registration that got there first wins), and one that
        cannot be put now is simply read with a Query again next time."""
        for part in batched(owners, MAX_TRANSACT, strict=False):
            puts = [
                {
                    "Put": {
                        "Item": {"owner": owner, "installation_id": ROSTER_KEY, "devices": {}},
                        "ConditionExpression": "attribute_not_exists(#owner)",
                        "ExpressionAttributeNames": {"#owner": "owner"},
                    }
                }
                for owner in part
            ]
            try:
                refused = {r.index for r in transact(self._table, puts)}
                rest = [put for i, put in enumerate(puts) if i not in refused]
                if refused and rest:  # those a registration got to first are theirs
                    transact(self._table, rest)
            except (TransactionConflict, ClientError) as exc:
                log.info("empty rosters not written now (%s); they are read again next time", exc)

    def _owner_items(self, owner: str, *, consistent: bool = False) -> list[dict[str, Any]]:
        """The owner's device items (not preferences or roster: their keys start with '#')."""
        items: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {
            **_key_equals("owner", owner),
            "ConsistentRead": consistent,
        }
        while True:
            page = self._table.query(**kwargs)
            items.extend(page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        return [dict(i) for i in items if not str(i["installation_id"]).startswith("#")]

    def recipients(self, owners: Sequence[str]) -> dict[str, Recipient]:
        """Devices and preferences of many users in few calls: their rosters and preferences
        items by `BatchGetItem` (50 users per call); a user without a roster (never
        registered, or registered before rosters existed) is read with a Query instead, and
        one found with no device at all is given an empty roster: a 100,000-member group
        of whom most never installed the app would otherwise cost a Query per member on every
        broadcast."""
        unique = list(dict.fromkeys(owners))
        keys = [
            {"owner": owner, "installation_id": sk}
            for owner in unique
            for sk in (ROSTER_KEY, PREFERENCES_KEY)
        ]
        rosters: dict[str, list[Device]] = {}
        preferences: dict[str, Preferences] = {}
        found: set[str] = set()  # owners whose roster item exists
        for item in batch_get(self._table, keys):
            owner = str(item["owner"])
            if item["installation_id"] == ROSTER_KEY:
                found.add(owner)
                rosters[owner] = [
                    Device.model_validate(d) for d in dict(item.get("devices") or {}).values()
                ]
            else:
                preferences[owner] = preferences_of(item)
        for owner in unique:
            if owner not in rosters:
                items = self._owner_items(owner, consistent=True)
                rosters[owner] = [Device.model_validate(i) for i in items]
        self._seal_empty([o for o in unique if o not in found and not rosters[o]])
        return {
            owner: Recipient(owner, tuple(rosters[owner]), preferences.get(owner, Preferences()))
            for owner in unique
        }

    def not_refreshed_since(
        self,
        bucket: str,
        before: str,
        limit: int,
        cursor: str | None = None,
    ) -> Page[RefreshEntry]:
        """One page of the devices of month `bucket` whose `updated_at` (stored text) is before
        `before`, oldest first. The index is eventually consistent: a device may since have been
        refreshed or removed, which `delete_if_not_refreshed` finds out."""
        kwargs: dict[str, Any] = {
            "IndexName": BY_REFRESH,
            "KeyConditionExpression": Key("refresh_bucket").eq(bucket)
            & Key("updated_at").lt(before),
            "Limit": limit,
        }
        start = from_cursor(cursor, _REFRESH_KEYS)
        if start:
            kwargs["ExclusiveStartKey"] = start
        page = self._table.query(**kwargs)
        entries = tuple(
            RefreshEntry(str(i["owner"]), str(i["installation_id"]), str(i["updated_at"]))
            for i in page.get("Items", [])
        )
        return Page(entries, to_cursor(page.get("LastEvaluatedKey")))

    def for_owner(self, owner: str) -> list[Device]:
        """A consistent read: the cap is decided on it, under concurrent registrations."""
        return [Device.model_validate(i) for i in self._owner_items(owner, consistent=True)]

    def for_external(self, external_id: str) -> list[Device]:
        """Devices registered for the external audience by this external stakeholder."""
        page = self._table.query(
            IndexName=BY_EXTERNAL_ID, **_key_equals("external_id", external_id)
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
            IndexName=BY_INSTALLATION, **_key_equals("installation_id", installation_id)
        )
        return [str(item["owner"]) for item in page.get("Items", [])]

    def holders_of_token(self, token: str) -> list[tuple[str, str]]:
        """(owner, installation id) of every registration holding this FCM token."""
        page = self._table.query(IndexName=BY_TOKEN, **_key_equals("token_hash", token_hash(token)))
        return [(str(i["owner"]), str(i["installation_id"])) for i in page.get("Items", [])]
