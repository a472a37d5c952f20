"""DevicesService with an in-memory store (contract §2): the owner comes only from the verified
token, an installation belongs to one owner at a time, external registrations need the external
id claim, and a refresh keeps the first registration time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from ecmpush.domain.delivery.devices import (
    Device,
    DeviceLimitReached,
    DeviceRegistration,
    TokenHeld,
)
from ecmpush.domain.identity import Principal, Unauthenticated
from ecmpush.services.devices import DeviceConflict, DevicesService, Forbidden, WeakInstallationId
from tests.fakes import Partial

T0 = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)


class FakeStore(Partial):
    """Keyed like the table: (owner, installation_id); upsert keeps the first created_at."""

    def __init__(self) -> None:
        self.items: dict[tuple[str, str], Device] = {}
        self.deletes: list[tuple[str, str]] = []
        self.upserts: list[Device] = []

    def upsert(self, device: Device, max_devices: int | None = None) -> datetime | None:
        self.upserts.append(device)
        key = (device.owner, device.installation_id)
        previous = self.items.get(key)
        full = max_devices is not None and len(self.for_owner(device.owner)) >= max_devices
        if previous is None and full:
            raise DeviceLimitReached(device.owner)
        if previous is None:
            self.items[key] = device
            return None
        self.items[key] = device.model_copy(update={"created_at": previous.created_at})
        return previous.created_at

    def delete(self, owner: str, installation_id: str) -> bool:
        self.deletes.append((owner, installation_id))
        return self.items.pop((owner, installation_id), None) is not None

    def owners_of(self, installation_id: str) -> list[str]:
        return [owner for owner, inst in self.items if inst == installation_id]

    def get(self, owner: str, installation_id: str) -> Device | None:
        return self.items.get((owner, installation_id))

    def holders_of_token(self, token: str) -> list[tuple[str, str]]:
        return [key for key, device in self.items.items() if device.token == token]

    def for_owner(self, owner: str) -> list[Device]:
        return [device for (o, _), device in self.items.items() if o == owner]


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        self.now += timedelta(**kwargs)


@pytest.fixture
def store() -> FakeStore:
    return FakeStore()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def service(store: FakeStore, clock: Clock) -> DevicesService:
    return DevicesService(store, clock)


ALICE = Principal(uid="fb-alice", ecm_user="alice")


def iid(name: str) -> str:
    """An installation id of the entropy a new registration needs (issue 9), named `name`."""
    return f"{name}-7Kq2xR9mZw4"


BOB = Principal(uid="fb-bob", ecm_user="bob")
CUSTOMER = Principal(uid="fb-cust", ecm_user=None, external_id="cust-1")


def registration(**changes: Any) -> DeviceRegistration:
    values: dict[str, Any] = {"token": "fcm-token-0001", "platform": "android"}
    values.update(changes)
    return DeviceRegistration(**values)


# --- created vs refreshed -----------------------------------------------------------------------


def test_first_registration_is_created(service: DevicesService, store: FakeStore) -> None:
    reg = registration(locale="de-AT", timezone="Europe/Vienna", app_version="1.2.3")
    device, created = service.register(ALICE, iid("inst-1"), reg)
    assert created is True
    assert device.owner == "alice"
    assert device.installation_id == iid("inst-1")
    assert (device.token, device.platform) == ("fcm-token-0001", "android")
    assert (device.locale, device.timezone, device.app_version) == (
        "de-AT",
        "Europe/Vienna",
        "1.2.3",
    )
    assert device.audience == "internal"
    assert device.external_id is None
    assert device.created_at == device.updated_at == T0
    assert store.items[("alice", iid("inst-1"))] == device


def test_refresh_keeps_created_at_and_updates_the_rest(
    service: DevicesService, store: FakeStore, clock: Clock
) -> None:
    service.register(ALICE, iid("inst-1"), registration())
    clock.advance(days=2)
    device, created = service.register(ALICE, iid("inst-1"), registration(token="fcm-token-0002"))
    assert created is False
    assert device.created_at == T0
    assert device.updated_at == T0 + timedelta(days=2)
    assert device.token == "fcm-token-0002"
    assert store.items[("alice", iid("inst-1"))].token == "fcm-token-0002"
    assert store.deletes == []


def test_two_installations_of_one_owner_are_independent(
    service: DevicesService, store: FakeStore
) -> None:
    _, first = service.register(ALICE, iid("phone"), registration())
    _, second = service.register(
        ALICE, iid("tablet"), registration(platform="ios", token="fcm-token-0002")
    )
    assert (first, second) == (True, True)
    assert set(store.items) == {("alice", iid("phone")), ("alice", iid("tablet"))}


# --- installations changing hands ---------------------------------------------------------------


def test_installation_moving_to_another_owner_leaves_the_previous_one(
    service: DevicesService, store: FakeStore
) -> None:
    service.register(ALICE, iid("shared-tablet"), registration())
    device, created = service.register(BOB, iid("shared-tablet"), registration())  # same token
    assert created is True
    assert device.owner == "bob"
    assert store.deletes == [("alice", iid("shared-tablet"))]
    assert set(store.items) == {("bob", iid("shared-tablet"))}
    assert store.owners_of(iid("shared-tablet")) == ["bob"]


def test_moving_back_removes_the_intermediate_owner(
    service: DevicesService, store: FakeStore
) -> None:
    service.register(ALICE, iid("inst"), registration())
    service.register(BOB, iid("inst"), registration())
    _, created = service.register(ALICE, iid("inst"), registration())
    assert created is True  # the old row was deleted when Bob took over
    assert set(store.items) == {("alice", iid("inst"))}


def test_every_other_owner_is_removed(service: DevicesService, store: FakeStore) -> None:
    for owner in ("x", "y", "z"):
        store.items[(owner, iid("inst"))] = Device(
            owner=owner,
            installation_id=iid("inst"),
            token="fcm-token-0001",
            platform="web",
            created_at=T0,
            updated_at=T0,
        )
    service.register(ALICE, iid("inst"), registration())
    assert sorted(store.deletes) == [
        ("x", iid("inst")),
        ("y", iid("inst")),
        ("z", iid("inst")),
    ]
    assert set(store.items) == {("alice", iid("inst"))}


def test_other_installations_of_the_previous_owner_stay(
    service: DevicesService, store: FakeStore
) -> None:
    service.register(ALICE, iid("inst"), registration())
    service.register(ALICE, iid("alice-phone"), registration(token="fcm-token-0002"))
    service.register(BOB, iid("inst"), registration())
    assert ("alice", iid("alice-phone")) in store.items


# --- external audience --------------------------------------------------------------------------


def test_external_registration_needs_the_external_id_claim(
    service: DevicesService, store: FakeStore
) -> None:
    with pytest.raises(Forbidden):
        service.register(ALICE, iid("inst"), registration(audience="external"))


def test_a_blank_external_id_claim_is_no_identity_at_all() -> None:
    """Issue 20, finding 9: blank is refused (401), not read as "no claim"."""
    with pytest.raises(Unauthenticated, match="must not be blank"):
        Principal(uid="fb-x", ecm_user="alice", external_id=" ")


def test_refused_external_registration_changes_nothing(
    service: DevicesService, store: FakeStore
) -> None:
    service.register(BOB, iid("inst"), registration())
    store.deletes.clear()
    store.upserts.clear()
    with pytest.raises(Forbidden):
        service.register(ALICE, iid("inst"), registration(audience="external"))
    assert store.deletes == []
    assert store.upserts == []
    assert set(store.items) == {("bob", iid("inst"))}


def test_external_only_principal_owns_as_ext_id(service: DevicesService) -> None:
    device, created = service.register(CUSTOMER, iid("inst"), registration(audience="external"))
    assert created is True
    assert device.owner == "ext:cust-1"
    assert device.audience == "external"
    assert device.external_id == "cust-1"


def test_external_id_comes_from_the_claim_for_a_user_with_both(service: DevicesService) -> None:
    both = Principal(uid="fb-a", ecm_user="alice", external_id="partner-9")
    device, _ = service.register(both, iid("inst"), registration(audience="external"))
    assert device.owner == "alice"
    assert device.external_id == "partner-9"


def test_internal_registration_never_stores_the_external_id(service: DevicesService) -> None:
    both = Principal(uid="fb-a", ecm_user="alice", external_id="partner-9")
    device, _ = service.register(both, iid("inst"), registration())
    assert device.audience == "internal"
    assert device.external_id is None


def test_the_body_cannot_name_an_external_id() -> None:
    with pytest.raises(ValidationError):
        registration(audience="external", external_id="cust-1")


# --- Principal.owner ----------------------------------------------------------------------------


def test_owner_is_the_ecm_user() -> None:
    assert ALICE.owner == "alice"
    assert Principal(uid="u", ecm_user="alice", external_id="c").owner == "alice"


def test_owner_of_an_external_only_principal() -> None:
    assert CUSTOMER.owner == "ext:cust-1"
    assert Principal(uid="u", ecm_user=None, external_id="c-2").owner == "ext:c-2"


@pytest.mark.parametrize(
    ("ecm_user", "external_id"),
    [(None, None), ("", ""), (None, ""), ("  ", "c-2"), ("\u200b", None)],
)
def test_principal_with_neither_claim_is_unauthenticated(
    ecm_user: str | None, external_id: str | None
) -> None:
    """A blank claim is refused as such (issue 20, finding 9), not read as a missing one."""

    def owner() -> str:
        return Principal(uid="fb-nobody", ecm_user=ecm_user, external_id=external_id).owner

    with pytest.raises(Unauthenticated):
        owner()


def test_register_without_claims_is_unauthenticated_and_deletes_nothing(
    service: DevicesService, store: FakeStore
) -> None:
    service.register(ALICE, iid("inst"), registration())
    with pytest.raises(Unauthenticated):
        service.register(Principal(uid="fb-nobody", ecm_user=None), iid("inst"), registration())
    assert set(store.items) == {("alice", iid("inst"))}
    assert store.deletes == []


# --- unregister ---------------------------------------------------------------------------------


def test_unregister_own_device(service: DevicesService, store: FakeStore) -> None:
    service.register(ALICE, iid("inst"), registration())
    assert service.unregister(ALICE, iid("inst")) is True
    assert store.items == {}


def test_unregister_someone_elses_device_is_not_found_and_keeps_it(
    service: DevicesService, store: FakeStore
) -> None:
    service.register(ALICE, iid("inst"), registration())
    assert service.unregister(BOB, iid("inst")) is False
    assert set(store.items) == {("alice", iid("inst"))}


def test_unregister_unknown_installation(service: DevicesService) -> None:
    assert service.unregister(ALICE, iid("nope")) is False


def test_unregister_without_claims_is_unauthenticated(service: DevicesService) -> None:
    with pytest.raises(Unauthenticated):
        service.unregister(Principal(uid="fb-nobody", ecm_user=None), iid("inst"))


# --- the registration body ----------------------------------------------------------------------


def test_registration_defaults_and_stripping() -> None:
    reg = registration(token="  fcm-token-0001  ")
    assert reg.token == "fcm-token-0001"
    assert reg.audience == "internal"
    assert reg.locale is None
    assert reg.timezone is None


@pytest.mark.parametrize(
    "changes",
    [
        {"token": "short"},
        {"token": "  short   "},
        {"token": "x" * 4097},
        {"platform": "windows"},
        {"timezone": "Mars/Olympus_Mons"},
        {"timezone": "../../etc/passwd"},
        {"locale": "english"},
        {"locale": "de-"},
        {"audience": "everyone"},
        {"owner": "bob"},
    ],
)
def test_invalid_registrations_are_refused(changes: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        registration(**changes)


@pytest.mark.parametrize(
    ("locale", "timezone"), [("de", "Europe/Berlin"), ("pt_BR", "America/Sao_Paulo"), ("en", "UTC")]
)
def test_valid_locale_and_timezone(locale: str, timezone: str) -> None:
    reg = registration(locale=locale, timezone=timezone)
    assert (reg.locale, reg.timezone) == (locale, timezone)


# --- takeover attempts (issue 9) ----------------------------------------------------------------


def test_taking_over_an_installation_without_its_token_is_refused_and_deletes_nothing(
    service: DevicesService, store: FakeStore
) -> None:
    service.register(ALICE, iid("inst"), registration())
    with pytest.raises(DeviceConflict, match="installation is registered to another user"):
        service.register(BOB, iid("inst"), registration(token="fcm-token-attacker"))
    assert store.deletes == []
    assert set(store.items) == {("alice", iid("inst"))}
    assert store.items[("alice", iid("inst"))].token == "fcm-token-0001"


def test_registering_another_users_token_is_refused(
    service: DevicesService, store: FakeStore
) -> None:
    service.register(ALICE, iid("alice-phone"), registration())
    with pytest.raises(DeviceConflict, match="push token is registered to another user"):
        service.register(BOB, iid("bob-inst"), registration())  # Alice's token, Bob's account
    assert set(store.items) == {("alice", iid("alice-phone"))}
    assert store.deletes == []


def test_the_same_token_under_a_new_installation_id_replaces_the_old_one(
    service: DevicesService, store: FakeStore
) -> None:
    service.register(ALICE, iid("old-inst"), registration())
    service.register(ALICE, iid("new-inst"), registration())
    assert set(store.items) == {("alice", iid("new-inst"))}  # one phone, one push


def test_device_cap_retires_the_least_recently_refreshed(store: FakeStore, clock: Clock) -> None:
    service = DevicesService(store, clock, max_devices=3)
    for n in range(3):
        service.register(ALICE, iid(f"inst-{n}"), registration(token=f"fcm-token-{n:04}"))
        clock.advance(minutes=1)
    service.register(
        ALICE, iid("inst-0"), registration(token="fcm-token-0000")
    )  # refreshed: newest
    clock.advance(minutes=1)
    service.register(ALICE, iid("inst-3"), registration(token="fcm-token-0003"))
    assert {inst for _, inst in store.items} == {
        iid("inst-0"),
        iid("inst-2"),
        iid("inst-3"),
    }
    service.register(
        ALICE, iid("inst-3"), registration(token="fcm-token-0003")
    )  # a refresh: no eviction
    assert len(store.items) == 3


def test_device_cap_must_be_positive(store: FakeStore, clock: Clock) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        DevicesService(store, clock, max_devices=0)


@pytest.mark.parametrize("weak", ["inst-1", "a" * 20, "abc" * 6])
def test_a_guessable_new_installation_id_is_refused_and_nothing_stored(
    service: DevicesService, store: FakeStore, weak: str
) -> None:
    with pytest.raises(WeakInstallationId):
        service.register(ALICE, weak, registration())
    assert store.items == {}


# --- concurrent registrations (issue 20, finding 12) --------------------------------------------


class RacedStore(FakeStore):
    """A store whose writes find what concurrent registrations did meanwhile: before each of
    the first `raced` upserts, `rivals` new devices of the owner land; `token_held` makes the
    write find the token claimed by another owner's live device."""

    def __init__(self, rivals: int = 0, raced: int = 1, token_held: bool = False) -> None:
        super().__init__()
        self.rivals, self.raced, self.token_held = rivals, raced, token_held
        self.landed = 0

    def upsert(self, device: Device, max_devices: int | None = None) -> datetime | None:
        if self.token_held:
            raise TokenHeld("held")
        if self.raced:
            self.raced -= 1
            for _ in range(self.rivals):
                self.landed += 1
                rival = device.model_copy(update={"installation_id": f"rival-{self.landed}"})
                self.items[(device.owner, rival.installation_id)] = rival
        return super().upsert(device, max_devices)


def test_room_is_made_again_when_concurrent_registrations_filled_the_cap(clock: Clock) -> None:
    store = RacedStore(rivals=2)
    service = DevicesService(store, clock, max_devices=2)
    _, created = service.register(ALICE, iid("late"), registration())
    assert created
    assert len(store.for_owner("alice")) == 2  # the cap held: one rival made room
    assert ("alice", iid("late")) in store.items


def test_a_registration_that_keeps_losing_the_race_is_a_conflict_not_a_third_device(
    clock: Clock,
) -> None:
    store = RacedStore(rivals=1, raced=99)
    service = DevicesService(store, clock, max_devices=1)
    with pytest.raises(DeviceConflict, match="at once"):
        service.register(ALICE, iid("late"), registration())
    assert len(store.for_owner("alice")) == 1


def test_a_token_claimed_meanwhile_by_another_user_is_a_conflict(clock: Clock) -> None:
    store = RacedStore(token_held=True)
    with pytest.raises(DeviceConflict, match="push token"):
        DevicesService(store, clock).register(ALICE, iid("inst"), registration())
    assert store.items == {}
