"""The Content Server client reading as the user (the approver's API): the inbox, a node and its
content under the user's own ticket, against the stand-in's per-user permissions."""

from __future__ import annotations

from pathlib import Path

import pytest

from devstack.ecm_standin import EcmStandIn
from ecmpush.domain.ecm.errors import (
    EcmContentTooLarge,
    EcmForbidden,
    EcmImpersonationOff,
    EcmNotFound,
)
from tests.integration.test_ecm_client import otds_client, password_client

PDF = Path(__file__).resolve().parents[2] / "devstack/ecm_content/lockout-tagout-procedure.pdf"


def test_inbox_is_the_users_own(ecm: tuple[EcmStandIn, str]) -> None:
    _, url = ecm
    client = otds_client(url)
    mine = client.assignments("asmith")
    assert {a.ref.key for a in mine} == {"4711/4711/1", "4714/4714/1"}
    contract = next(a for a in mine if a.ref.key == "4711/4711/1")
    assert (contract.from_user_id, contract.from_login, contract.priority_name) == (
        1002,
        "bjones",
        "High",
    )
    assert {a.ref.key for a in client.assignments("dlee")} == set()


def test_content_as_the_user_permitted_refused_unknown(ecm: tuple[EcmStandIn, str]) -> None:
    standin, url = ecm
    client = otds_client(url)
    content = client.node_content(88001, as_user="cwu", limit=1024 * 1024)
    assert content.data == PDF.read_bytes()
    assert content.mime_type == "application/pdf"
    with pytest.raises(EcmForbidden):  # sees it, may not open it
        client.node_content(88001, as_user="asmith", limit=1024 * 1024)
    with pytest.raises(EcmForbidden):  # may not see it; the service account may
        client.node(88002, as_user="asmith")
    with pytest.raises(EcmNotFound):
        client.node_content(424242, as_user="cwu", limit=1024 * 1024)
    users = {r["user"] for r in standin.requests("/api/v2/nodes/88001/content")}
    assert users == {"cwu", "asmith"}  # never the service account


def test_too_large_is_refused_before_the_download(ecm: tuple[EcmStandIn, str]) -> None:
    standin, url = ecm
    client = otds_client(url)
    with pytest.raises(EcmContentTooLarge) as refused:
        client.node_content(88001, as_user="cwu", limit=100)
    assert (refused.value.size, refused.value.limit) == (len(PDF.read_bytes()), 100)
    assert standin.requests("/api/v2/nodes/88001/content") == []


def test_without_impersonation_nothing_is_read_as_the_service_account(
    ecm: tuple[EcmStandIn, str],
) -> None:
    standin, url = ecm
    for client in (otds_client(url, act_as_user=False), password_client(url)):
        with pytest.raises(EcmImpersonationOff):
            client.assignments("asmith")
        with pytest.raises(EcmImpersonationOff):
            client.node_content(88001, as_user="cwu", limit=1024)
    assert standin.requests("/api/v2/") == []
