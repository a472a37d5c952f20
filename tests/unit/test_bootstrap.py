"""The composition root's builders: built once per container until `reset`, afresh (and never
kept) with settings or overrides, refusing an override no builder asks for."""

from __future__ import annotations

import re

import pytest

from ecmpush import bootstrap
from ecmpush.bootstrap.cache import cached
from ecmpush.settings import Settings
from tests.conftest import REPO_ROOT
from tests.fakes import unit_settings

built: list[str] = []


@cached
def _build_sample(config: Settings | None = None, **overrides: object) -> object:
    built.append(config.app_base_url if config else "the container's")
    return overrides.get("part", object())


def test_a_builder_called_bare_builds_once_until_reset() -> None:
    bootstrap.reset()
    built.clear()
    first = _build_sample()
    assert _build_sample() is first
    assert built == ["the container's"]
    bootstrap.reset()
    assert _build_sample() is not first
    assert len(built) == 2


def test_settings_or_overrides_build_afresh_and_are_not_kept() -> None:
    bootstrap.reset()
    kept = _build_sample()
    fake = object()
    assert _build_sample(part=fake) is fake
    assert _build_sample(unit_settings(app_base_url="https://other.example.com")) is not kept
    assert _build_sample() is kept


def test_an_override_no_builder_asks_for_is_refused() -> None:
    with pytest.raises(TypeError, match="no such parts: \\['recipeints'\\]"):
        bootstrap.build_dispatch(unit_settings(), recipeints=object())  # type: ignore[call-arg]


def test_every_builder_the_handlers_call_is_exported() -> None:
    handlers = sorted((REPO_ROOT / "functions").glob("*/app.py"))
    called = {m for app in handlers for m in re.findall(r"bootstrap\.(\w+)\(", app.read_text())}
    assert {"build_dispatch", "build_intake", "build_response_callback"} <= called
    for name in sorted(called):
        assert callable(getattr(bootstrap, name)), name
