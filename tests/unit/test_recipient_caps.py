"""What an event names, as the recipient caps count it (domain/intake/recipient_caps.py)."""

from __future__ import annotations

import pytest

from ecmpush.domain.intake.events import event_adapter
from ecmpush.domain.intake.recipient_caps import RecipientCaps, event_errors, named
from tests.conftest import sample_event


@pytest.mark.parametrize(
    ("name", "users", "groups"),
    [
        ("task_assigned", {"data": 3}, {}),  # assignee, supervisor, backup
        ("record_expiry_scheduled", {"data.owners": 1}, {"data.notify_roles": 2}),
        ("document_available", {"data.audience.users": 1}, {"data.audience.teams": 1}),
        ("document_published", {"data.audience.external_ids": 1}, {}),
        ("task_completed", {}, {}),
        ("governance_alert", {}, {}),  # routed to roles by kind, names nobody
    ],
)
def test_each_type_names_its_recipients(
    name: str, users: dict[str, int], groups: dict[str, int]
) -> None:
    event = event_adapter.validate_python(sample_event(name))
    counts = named(event)
    assert (counts.users, counts.groups) == (users, groups)


def test_caps_are_inclusive() -> None:
    event = sample_event("document_available")
    event["data"]["audience"]["users"] = [{"user_id": f"u{n}"} for n in range(5)]
    parsed = event_adapter.validate_python(event)
    assert event_errors(parsed, RecipientCaps(5, 5, 10)) == []
    (error,) = event_errors(parsed, RecipientCaps(4, 5, 10))
    assert error["path"] == "data.audience.users"


def test_inconsistent_caps_are_refused() -> None:
    with pytest.raises(ValueError, match="per-request"):
        RecipientCaps(max_users_per_event=100, max_recipients_per_request=50)
    with pytest.raises(ValueError, match="at least 1"):
        RecipientCaps(max_groups_per_event=0)
