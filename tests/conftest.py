"""Shared test helpers. Firebase fixtures (identity, FCM stand-in, App) come from
tests/fixtures_firebase.py, the Content Server stand-in from tests/fixtures_ecm.py; AWS
fixtures for handler tests from tests/integration/conftest.py.

Layers: unit/ (domain and services on fakes), integration/ (handlers against moto and the
stand-ins), contract/ (the Content Server contract, also against a real server), e2e/ (the
local stack over HTTP, the browser client, a deployed stack), local_stack/ (the stand-ins,
the local Lambda runtime and the moto patches themselves: the fidelity the others rely on)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest.mock import patch

import boto3
import botocore.loaders
import botocore.session
import pytest

from ecmpush.domain.intake.events import EVENT_TYPES

REPO_ROOT = Path(__file__).resolve().parent.parent
EVENTS = REPO_ROOT / "events"

pytest_plugins = ["tests.fixtures_firebase", "tests.fixtures_ecm"]

# One sample file per contract event type: events/ecm/task_assigned.json for task.assigned, ...
SAMPLE_EVENT_NAMES = [event_type.replace(".", "_") for event_type in EVENT_TYPES]


def fullwidth(text: str) -> str:
    """`text` in full-width forms (`asmith` → U+FF41...): a look-alike spelled without
    look-alikes in the test source."""
    return "".join(chr(ord(ch) + 0xFEE0) if "!" <= ch <= "~" else ch for ch in text)


def sample_event(name: str) -> dict[str, Any]:
    """A contract §1 event from events/ecm/ (the same files `python -m devstack post` sends)."""
    event: dict[str, Any] = json.loads((EVENTS / "ecm" / f"{name}.json").read_text())
    return event


class _SearchPaths(list[str]):
    """boto3 adds its data path to a session's loader once per session: once is enough here."""

    def append(self, path: str) -> None:
        if path not in self:
            super().append(path)


class _SharedModels(botocore.loaders.Loader):
    """Keeps every model it parsed, except endpoints.json: botocore's endpoint resolver writes
    each endpoint it resolves back into that data (expanded hostname, sslCommonName, ...), so
    a shared copy would carry one test's resolutions into the next (a plain SQS client made a
    later dual-stack one's certificate name the IPv4 one). Each session parses its own, as
    botocore does (about 15 ms)."""

    def load_data_with_path(self, name: str) -> tuple[Any, str]:
        if name != "endpoints":
            shared: tuple[Any, str] = super().load_data_with_path(name)
            return shared
        own = botocore.loaders.Loader(
            extra_search_paths=list(self.search_paths), include_default_search_paths=False
        )
        private: tuple[Any, str] = own.load_data_with_path(name)
        return private


@pytest.fixture(scope="session", autouse=True)
def _service_models_parsed_once() -> Iterator[None]:
    """Every botocore session of a worker reads its service models (JSON on disk) through one
    loader, which keeps what it parsed. moto starts each test without a default session, and
    each test's handlers build their own (Powertools' idempotency and parameters, the adapters):
    each would otherwise parse the same models again, most of a test's set-up time. The service
    models are read-only to botocore (one session's clients already share them); the endpoint
    data is not, and stays per session (_SharedModels)."""
    loader = _SharedModels(extra_search_paths=_SearchPaths())
    loader.search_paths.append(str(Path(boto3.__file__).parent / "data"))  # as boto3 does

    def register(session: botocore.session.Session) -> None:
        session.register_component("data_loader", loader)

    with patch.object(botocore.session.Session, "_register_data_loader", register):
        yield
