"""Lambda SnapStart runtime hooks for the API functions (template.yaml, parameter `SnapStart`).
Why: docs/design/snapstart.md."""

from __future__ import annotations

import importlib


def _warm(modules: tuple[str, ...]) -> None:
    for name in modules:
        importlib.import_module(name)


def _restored() -> None:
    from ecmpush import bootstrap  # imported by every handler already; lazy only for tests

    bootstrap.reset()


def prepare_snapshot(*warm: str) -> bool:
    """Register the hooks (True) or, without snapshot_restore_py, do nothing (False).
    `warm`: modules the handler's first request needs, imported before the snapshot."""
    try:
        from snapshot_restore_py import (  # type: ignore[import-not-found]
            register_after_restore,
            register_before_snapshot,
        )
    except ImportError:
        return False
    register_before_snapshot(_warm, warm)
    register_after_restore(_restored)
    return True
