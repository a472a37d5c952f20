"""Links in pushes (issue 20 finding 4): https on a host the operator lists, matched exactly;
nothing else is allowed, however it is spelled."""

from __future__ import annotations

import pytest

from ecmpush.bootstrap.parts import link_policy
from ecmpush.domain.intake.links import LinkHostsInvalid, LinkPolicy
from ecmpush.settings import ConfigurationError
from tests.fakes import unit_settings

POLICY = LinkPolicy.of(
    "https://app.example.com/app",
    "https://ecm.example.com/otcs/cs.exe",
    listed=" Portal.Example.com , files.example.com:8443",
)


@pytest.mark.parametrize(
    "url",
    [
        "https://app.example.com/tasks/1/2/3?n=x",
        "https://APP.example.com/documents/5",
        "https://app.example.com:443/x",
        "https://ecm.example.com/otcs/cs.exe/app/nodes/90210",
        "https://portal.example.com/docs/99001",
        "https://files.example.com:8443/a",
    ],
)
def test_https_links_on_listed_hosts_are_allowed(url: str) -> None:
    assert POLICY.refusal(url) is None


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("http://app.example.com/x", "https"),
        ("http://pay-acme.evil.example/login", "https"),
        ("https://evil.example/reset", "not one this deployment allows"),
        ("https://app.example.com.evil.example/", "not one this deployment allows"),
        ("https://evilapp.example.com/", "not one this deployment allows"),
        ("https://example.com/", "not one this deployment allows"),
        ("https://app.example.com@evil.example/", "user name"),
        ("https://app:pw@app.example.com/", "user name"),
        ("https://files.example.com/a", "not one this deployment allows"),  # listed with :8443
        ("https://app.example.com:8443/", "not one this deployment allows"),
        ("https://app.example.com./x", "no valid host"),
        ("https://xn--pp-7ka.example.com/", "not one this deployment allows"),  # punycode
        ("https://äpp.example.com/", "plain ASCII"),  # IDN
        ("https://\uff41\uff50\uff50.example.com/", "plain ASCII"),  # full-width "app"
        ("https://app.example.com\\@evil.example/", "plain ASCII"),
        ("https://evil.example\\.app.example.com/", "plain ASCII"),
        ("https://app.example.com /x", "plain ASCII"),
        ("javascript:alert(1)//https://app.example.com", "https"),
        ("https:///app.example.com", "no valid host"),
        ("https://app.example.com:99999/", "not a valid URL"),
        ("//app.example.com/x", "https"),
    ],
)
def test_everything_else_is_refused_with_a_reason(url: str, says: str) -> None:
    reason = POLICY.refusal(url)
    assert reason is not None
    assert says in reason


def test_a_refused_link_falls_back_and_an_allowed_one_stays() -> None:
    assert POLICY.or_else("https://evil.example/", "https://app.example.com/d/1") == (
        "https://app.example.com/d/1"
    )
    assert POLICY.or_else(None, "https://app.example.com/d/1") == "https://app.example.com/d/1"
    assert POLICY.or_else("https://portal.example.com/a", "x") == "https://portal.example.com/a"
    assert POLICY.home == "https://app.example.com/app"


def test_errors_name_each_refused_field() -> None:
    errors = POLICY.errors(
        [("data.document.url", "https://evil.example/"), ("data.node.url", None)]
    )
    assert [e["path"] for e in errors] == ["data.document.url"]


@pytest.mark.parametrize(
    "listed", ["https://portal.example.com", "*.example.com", "portal.example.com/x", "a b", "ä.de"]
)
def test_the_operator_lists_plain_hosts_only(listed: str) -> None:
    with pytest.raises(LinkHostsInvalid):
        LinkPolicy.of("https://app.example.com", listed=listed)


def test_the_deployments_policy_and_a_bad_list_stopping_the_cold_start() -> None:
    """AppBaseUrl's and EcmBaseUrl's hosts plus ECMPUSH_LINK_HOSTS; a typo there is the
    function's configuration error at cold start, not a refusal of every event with a link."""
    assert link_policy(unit_settings(link_hosts="portal.example.com")).hosts == {
        "app.example.com",
        "ecm.example.com",
        "portal.example.com",
    }
    with pytest.raises(ConfigurationError, match="ECMPUSH_LINK_HOSTS"):
        link_policy(unit_settings(link_hosts="*.example.com"))
