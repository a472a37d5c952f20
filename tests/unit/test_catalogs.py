"""The message catalog: every translation matches English key for key and placeholder for
placeholder, every routed template exists, and a device's locale picks the language."""

from __future__ import annotations

import string
from datetime import UTC, datetime

import pytest

from ecmpush.domain.delivery.devices import Device
from ecmpush.domain.delivery.render import render_push
from ecmpush.domain.delivery.routing import RoutingContext, route
from ecmpush.domain.delivery.routing_config import RoutingConfig
from ecmpush.domain.delivery.templates import EN, render
from ecmpush.domain.delivery.translations import DE, FR
from ecmpush.domain.intake.events import event_adapter
from tests.conftest import SAMPLE_EVENT_NAMES, sample_event


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


@pytest.mark.parametrize(("language", "catalog"), [("de", DE), ("fr", FR)])
def test_translations_match_english_keys_and_placeholders(
    language: str, catalog: dict[str, str]
) -> None:
    assert set(catalog) <= set(EN), f"{language} has keys English lacks"
    for key, text in catalog.items():
        assert _fields(text) == _fields(EN[key]), (language, key)


@pytest.mark.parametrize(("language", "catalog"), [("de", DE), ("fr", FR)])
def test_every_routed_template_is_translated(language: str, catalog: dict[str, str]) -> None:
    config = RoutingConfig.model_validate(
        {
            "roles": {"compliance_officer": ["c"], "administrator": ["a"]},
            "teams": {"field-north": ["f"]},
        }
    )
    ctx = RoutingContext(
        "https://app.example.com", datetime(2026, 11, 28, tzinfo=UTC), lambda: config
    )
    for name in SAMPLE_EVENT_NAMES:
        for notification in route(event_adapter.validate_python(sample_event(name)), ctx):
            assert f"{notification.template}.title" in EN
            assert f"{notification.template}.title" in catalog, (language, notification.template)


def _device(locale: str | None) -> Device:
    now = datetime(2026, 11, 28, tzinfo=UTC)
    return Device(
        owner="u",
        installation_id="i",
        token="tok-xxxxxxxx",
        platform="android",
        locale=locale,
        created_at=now,
        updated_at=now,
    )


@pytest.mark.parametrize(
    ("locale", "title"),
    [
        ("de-AT", "Genehmigung erforderlich: Approve supplier contract ACME-2026-114"),
        ("fr_CA", "Approbation requise : Approve supplier contract ACME-2026-114"),
        ("pt-BR", "Approval needed: Approve supplier contract ACME-2026-114"),
        (None, "Approval needed: Approve supplier contract ACME-2026-114"),
    ],
)
def test_device_locale_picks_the_language_with_english_fallback(
    locale: str | None, title: str
) -> None:
    ctx = RoutingContext("https://app.example.com", datetime(2026, 11, 28, tzinfo=UTC))
    [notification] = route(event_adapter.validate_python(sample_event("task_assigned")), ctx)
    push = render_push(notification, _device(locale), "v1.a.b")
    assert push.title == title
    assert push.data["title"] == title


def test_a_key_missing_in_a_translation_falls_back_to_english_for_that_text() -> None:
    title, _ = render("task.assigned.approval", {"task_title": "T"}, "de", None)
    assert title == "Genehmigung erforderlich: T"
    _, body = render(
        "expiry.warning.digest.days",
        {"count": "2", "kinds": "contract", "days": "30", "names": "A, B"},
        "de",
        None,
    )
    assert body == "A, B"  # the digest body (a list of names) has no German text of its own


@pytest.mark.parametrize(
    ("locale", "title"),
    [
        ("de", "Vertrag läuft in 30 Tagen ab: MSA"),
        ("fr", "Le contrat expire dans 30 jours : MSA"),
        ("en", "Contract expires in 30 days: MSA"),
    ],
)
def test_expiry_kinds_are_translated_too(locale: str, title: str) -> None:
    params = {"kind": "contract", "days": "30", "record_name": "MSA", "expires_on": "2027-01-31"}
    assert render("expiry.warning.single.days", params, locale, None)[0] == title
    digest = {"count": "5", "kinds": "any", "days": "30", "names": "…"}
    assert "5 " in render("expiry.warning.digest.days", digest, locale, None)[0]
