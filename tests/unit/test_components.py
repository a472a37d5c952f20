"""The composition root's components: built once per container, handed out as a fake while
`override` says so (and only then), forgotten by `reset`."""

from __future__ import annotations

import re

import pytest

from ecmpush import bootstrap
from ecmpush.components import component
from tests.conftest import REPO_ROOT

built: list[str] = []


@component
def _sample_component() -> object:
    built.append("real")
    return object()


def test_a_component_is_built_once_until_reset() -> None:
    built.clear()
    first = _sample_component()
    assert _sample_component() is first
    assert built == ["real"]
    bootstrap.reset()
    assert _sample_component() is not first
    assert built == ["real", "real"]


def test_override_hands_out_the_fake_inside_the_block_only() -> None:
    real = _sample_component()
    fake = object()
    with bootstrap.override(_sample_component=fake):
        assert _sample_component() is fake
        with bootstrap.override(_sample_component="inner"):
            assert _sample_component() == "inner"
        assert _sample_component() is fake
    assert _sample_component() is real


def test_override_refuses_a_name_that_is_no_component() -> None:
    with pytest.raises(KeyError, match="no such components"), bootstrap.override(ecm_clinet=1):
        pass


def test_every_factory_the_handlers_call_is_exported() -> None:
    handlers = sorted((REPO_ROOT / "functions").glob("*/app.py"))
    called = {m for app in handlers for m in re.findall(r"bootstrap\.(\w+)\(", app.read_text())}
    assert {"dispatch_service", "webhook_intake_service", "response_callback_service"} <= called
    for name in sorted(called):
        assert callable(getattr(bootstrap, name)), name
