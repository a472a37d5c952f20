"""The FCM session reads proxy and CA settings from the environment once, not per push, and
only where that changes nothing: with a proxy or netrc configured, requests keeps reading the
environment on every request as it always did."""

from __future__ import annotations

import pytest
import requests

from ecmpush.adapters.firebase_app import _read_environment_once

_PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")


@pytest.fixture
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in (*_PROXY_VARIABLES, *(n.lower() for n in _PROXY_VARIABLES), "NETRC"):
        monkeypatch.delenv(name, raising=False)
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_without_proxies_the_lookup_is_off_and_the_ca_bundle_kept(
    clean_environment: pytest.MonkeyPatch,
) -> None:
    clean_environment.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/corporate.pem")
    session = requests.Session()
    _read_environment_once(session)
    assert session.trust_env is False
    assert session.verify == "/etc/ssl/corporate.pem"  # what requests would have used


def test_with_a_proxy_requests_keeps_reading_the_environment(
    clean_environment: pytest.MonkeyPatch,
) -> None:
    clean_environment.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
    session = requests.Session()
    _read_environment_once(session)
    assert session.trust_env is True
    assert session.verify is True
