"""Routing of flows 4, 5 and 6: field teams, external stakeholders, governance roles."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from ecmpush.domain.delivery.routing import RoutingContext, route
from ecmpush.domain.delivery.routing_config import RoutingConfig
from ecmpush.domain.intake.events import event_adapter
from ecmpush.domain.intake.links import LinkPolicy
from tests.conftest import sample_event

CONFIG = RoutingConfig.model_validate(
    {
        "roles": {
            "records_manager": ["cwu"],
            "compliance_officer": ["cwu", "dlee"],
            "administrator": ["root1"],
        },
        "teams": {"field-north": ["cwu", "dlee"], "field-south": ["bjones"]},
        "governance": {"missing_approval": ["administrator"]},
        "external_channels": ["ios"],
    }
)
LINKS = LinkPolicy.of("https://app.example.com", listed="ecm.example.com,portal.example.com")
CTX = RoutingContext(
    "https://app.example.com", datetime(2026, 11, 28, tzinfo=UTC), lambda: CONFIG, LINKS
)


def _route(name: str, **data: Any) -> list[Any]:
    event = sample_event(name)
    event["data"].update(data)
    return route(event_adapter.validate_python(event), CTX)


def test_document_available_reaches_team_members_and_named_users_once() -> None:
    [n] = _route(
        "document_available",
        audience={
            "teams": ["field-north", "field-south"],
            "users": [{"user_id": "cwu"}, {"user_id": "eve"}],
        },
    )
    assert n.recipients == ["cwu", "dlee", "bjones", "eve"]
    assert (n.type, n.category, n.template) == (
        "document.available",
        "field",
        "document.available.safety_form",
    )
    assert n.deep_link == "https://app.example.com/documents/88001"
    assert n.actions == []


def test_document_available_to_an_unknown_team_reaches_nobody() -> None:
    assert _route("document_available", audience={"teams": ["nobody-here"]}) == []


def test_document_published_addresses_external_ids_with_title_kind_and_link_only() -> None:
    [n] = _route("document_published")
    assert n.recipients == ["ext:cust-globex-001"]
    assert n.params == {"document_name": "Q4 service report"}
    assert n.template == "document.published.service_report"
    assert n.deep_link == "https://portal.example.com/docs/99001"


@pytest.mark.parametrize(
    ("kind", "recipients"),
    [
        ("unauthorized_access", ["cwu", "dlee", "root1"]),  # default: compliance + administrators
        ("metadata_validation_failed", ["cwu"]),  # default: records managers
        ("missing_approval", ["root1"]),  # configured: replaces the default
    ],
)
def test_governance_alert_routes_by_kind_to_roles(kind: str, recipients: list[str]) -> None:
    [n] = _route("governance_alert", kind=kind)
    assert n.recipients == recipients
    assert n.severity == "critical"
    assert n.category == "governance"


def test_governance_alert_keeps_personal_data_out_of_the_push() -> None:
    [n] = _route("governance_alert")
    text = repr(n.model_dump())
    assert "mallory" not in text  # the actor
    assert "attempts" not in text  # the details
    assert n.params["summary"] == "Repeated access denied on a restricted HR folder"


@pytest.mark.parametrize(
    "raw",
    [
        {"roles": {"janitor": ["x"]}},
        {"roles": {"legal": []}},
        {"teams": {"bad team!": ["x"]}},
        {"governance": {"unauthorized_access": ["janitor"]}},
        {"external_channels": ["sms"]},
        {"colour": "blue"},
    ],
)
def test_bad_routing_configuration_is_refused_at_load(raw: dict[str, Any]) -> None:
    import json

    from ecmpush.adapters.routing_source import parse_routing
    from ecmpush.settings import ConfigurationError

    with pytest.raises(ConfigurationError, match=r"routing configuration test\.json is invalid"):
        parse_routing(json.dumps(raw), "test.json")
