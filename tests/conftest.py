"""Shared test helpers. Firebase fixtures (identity, FCM stand-in, App) come from
tests/fixtures_firebase.py; AWS fixtures for handler tests from tests/integration/conftest.py."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ecmpush.domain.events import EVENT_TYPES

REPO_ROOT = Path(__file__).resolve().parent.parent
EVENTS = REPO_ROOT / "events"

pytest_plugins = ["tests.fixtures_firebase"]

# One sample file per contract event type: events/ecm/task_assigned.json for task.assigned, ...
SAMPLE_EVENT_NAMES = [event_type.replace(".", "_") for event_type in EVENT_TYPES]


def sample_event(name: str) -> dict[str, Any]:
    """A contract §1 event from events/ecm/ (the same files `python -m devstack post` sends)."""
    event: dict[str, Any] = json.loads((EVENTS / "ecm" / f"{name}.json").read_text())
    return event
