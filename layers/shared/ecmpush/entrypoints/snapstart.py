"""Lambda SnapStart runtime hooks for the API functions (template.yaml, parameter `SnapStart`).

With SnapStart, Lambda runs a function's init once, when a version is published, and resumes
every new execution environment from a snapshot of that memory, possibly hours later and many
times over. So:

- before the snapshot, import what the first request would otherwise import lazily (the
  firebase-admin ID-token path, the idempotency utility): restored environments get those
  modules for free. Nothing here opens a connection or reads a secret: a snapshot must not hold
  credentials, sockets or values that may rotate;
- after a restore, forget every adapter, boto3 client, cached secret and setting
  (`bootstrap.reset()`): each restored environment opens its own connections, reads the
  secrets' current values (a rotation may have happened since the snapshot) and rebuilds the
  components on its first request, as a cold start would.

`snapshot_restore_py` ships only in Lambda's managed Python runtimes (3.12+); anywhere else
(tests, `make run`) it is absent and no hook is registered. Where SnapStart is off the runtime
never calls the hooks, so registering them costs nothing."""

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
