"""One spelling per user id and external id (issue 20, findings 7 and 9): the rules every door
reads ids with (`domain/user_ids.py`), and the DynamoDB keys they are composed into."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from ecmpush.adapters.deliveries_repository import delivery_key, inbox_key, policy_key
from ecmpush.adapters.replies_repository import reply_key
from ecmpush.domain.delivery.routing_config import RoutingConfig
from ecmpush.domain.user_ids import ecm_user_id, external_id
from tests.conftest import fullwidth


@pytest.mark.parametrize(
    "spelling",
    ["asmith", "ASmith", fullwidth("ASMITH"), fullwidth("asmith"), " asmith ", "asmith\u00a0"],
)
def test_one_spelling_of_an_ecm_user(spelling: str) -> None:
    assert ecm_user_id(spelling) == "asmith"


def test_composed_accents_are_one_letter() -> None:
    assert ecm_user_id("Ja\u0301nos") == ecm_user_id("JÁNOS") == "jános"


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("", "blank"),
        ("   ", "blank"),
        ("\u3000", "blank"),
        ("asmith\u200b", "invisible"),
        ("as\u00admith", "invisible"),
        ("asmith\u180e", "invisible"),
        ("asmith\U000e0020", "invisible"),
        ("asmith\u0301", "combining mark"),
        ("a\u0308\u0301smith", "combining mark"),
        ("asmith\u0000", "control"),
        ("asmith\ue000", "private-use"),
        ("a\tsmith", "control"),
        ("a\u1680smith", "space or separator"),
        ("a\u2028smith", "space or separator"),
        ("asmith#x", "key separator"),
        ("ext:cust-1", "must not start with 'ext:'"),
        (fullwidth("EXT:") + "cust-1", "must not start with 'ext:'"),
        ("straße", "case folding"),
        ("x" * 129, "1 to 128"),
        ("x" * 2000, "1 to 128"),
    ],
)
def test_ids_a_reader_cannot_tell_apart_are_refused(value: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        ecm_user_id(value)


def test_refusals_do_not_quote_the_id() -> None:
    with pytest.raises(ValueError, match="invisible") as refused:
        ecm_user_id("asmith\u200b")
    assert "asmith" not in str(refused.value)


def test_external_ids_keep_their_case_but_follow_the_same_rules() -> None:
    assert external_id(" A0b5g00000XyZab ") == "A0b5g00000XyZab"  # case-sensitive CRM ids
    assert external_id(fullwidth("cust-1")) == "cust-1"
    for value in ("rtcust#victim", "   ", "cust\u200b-1", "cust\u0301"):
        with pytest.raises(ValueError, match="an external id must not"):
            external_id(value)


def test_routing_configuration_members_are_read_in_the_one_spelling() -> None:
    teams = {"field-north": ["CWu", fullwidth("cwu"), "DLee"]}
    config = RoutingConfig.model_validate({"teams": teams})
    assert config.members_of_teams(["field-north"]) == ["cwu", "dlee"]
    with pytest.raises(ValidationError, match="invisible"):
        RoutingConfig.model_validate({"roles": {"legal": ["dlee\u200b"]}})


def test_keys_refuse_a_part_that_holds_the_separator() -> None:
    assert delivery_key("ext:rtcust", "phone-1") == "d#ext:rtcust#phone-1"
    for compose in (
        lambda: delivery_key("ext:rtcust#victim", "phone-1"),
        lambda: delivery_key("ext:rtcust", "victim#phone-1"),
        lambda: inbox_key("a#b"),
        lambda: policy_key("a#b"),
        lambda: reply_key("a#b"),
    ):
        with pytest.raises(ValueError, match="must not contain '#'"):
            compose()
