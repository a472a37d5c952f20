"""SnapStart hooks: the first request's imports go into the snapshot, and everything built from
configuration (clients, secrets, settings) is dropped after a restore."""

from __future__ import annotations

import sys
import types
from collections.abc import Callable
from typing import Any

import pytest

from ecmpush.bootstrap.cache import cached
from ecmpush.entrypoints import snapstart


@pytest.fixture
def runtime(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[Any]]:
    """A stand-in for the Lambda runtime's snapshot_restore_py that records the hooks."""
    hooks: dict[str, list[Any]] = {"before": [], "after": []}
    module = types.ModuleType("snapshot_restore_py")

    def before(func: Callable[..., None], *args: Any) -> None:
        hooks["before"].append((func, args))

    def after(func: Callable[..., None], *args: Any) -> None:
        hooks["after"].append((func, args))

    module.register_before_snapshot = before  # type: ignore[attr-defined]
    module.register_after_restore = after  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "snapshot_restore_py", module)
    return hooks


def test_without_the_runtime_library_nothing_is_registered(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "snapshot_restore_py", None)
    assert snapstart.prepare_snapshot("json") is False


def test_before_snapshot_imports_the_first_requests_modules(
    runtime: dict[str, list[Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delitem(sys.modules, "ecmpush.domain.sweeps.sla", raising=False)
    assert snapstart.prepare_snapshot("ecmpush.domain.sweeps.sla") is True
    ((func, args),) = runtime["before"]
    func(*args)
    assert "ecmpush.domain.sweeps.sla" in sys.modules


def test_after_restore_drops_every_built_object(runtime: dict[str, list[Any]]) -> None:
    built = cached(object)
    first = built()
    assert built() is first
    snapstart.prepare_snapshot()
    ((func, args),) = runtime["after"]
    func(*args)
    assert built() is not first


def _warm_lists() -> dict[str, list[str]]:
    """The module names each handler passes to prepare_snapshot, read from its source."""
    import ast
    from pathlib import Path

    found: dict[str, list[str]] = {}
    for app in sorted((Path(__file__).resolve().parents[2] / "functions").glob("*/app.py")):
        for node in ast.walk(ast.parse(app.read_text())):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "prepare_snapshot"
            ):
                found[app.parent.name] = [ast.literal_eval(arg) for arg in node.args]
    return found


def test_the_api_functions_warm_their_first_requests_modules() -> None:
    assert set(_warm_lists()) == {
        "webhook_intake",
        "devices",
        "response_callback",
        "approver",
        "sign_in",
    }


@pytest.mark.parametrize(
    "function", ["webhook_intake", "devices", "response_callback", "approver", "sign_in"]
)
def test_every_module_a_handler_warms_exists(function: str) -> None:
    """A misspelt name would make the before-snapshot hook raise, and publishing fail."""
    import importlib.util

    missing = [m for m in _warm_lists()[function] if importlib.util.find_spec(m) is None]
    assert missing == []
