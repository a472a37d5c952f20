"""The relay's memory, shared by `poll` and the announce endpoint (`POST /steps`): which steps
it announced to whom (`known`), and when it first built each event it has not delivered yet
(`seen`, event id → `occurred_at`). A JSON file written atomically (write, fsync, rename), so a
crash leaves the old or the new state, never half; read-modify-write only under `locked()` (an
exclusive `flock` on a lock file beside it), so a poll and an announce running in two processes
never overwrite each other's update.

`seen` is what makes two senders word one step identically: whoever builds an event first fixes
its `occurred_at` here before posting, and every later build of that event (the other sender, a
retry after the webhook was down, a relay that crashed before recording the answer) takes it from
here. The webhook then answers the second post `duplicate`, never `conflict`."""

from __future__ import annotations

import fcntl
import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

VERSION = 2  # 1: {"steps"} only; read as version 2 with nothing seen


@dataclass
class RelayState:
    known: dict[str, frozenset[str]] = field(default_factory=dict)
    seen: dict[str, str] = field(default_factory=dict)


def load(path: Path) -> RelayState:
    if not path.exists():
        return RelayState()
    raw = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(raw, dict) or raw.get("version") not in (1, VERSION):
        raise ValueError(f"{path}: not a relay state file of version 1 or {VERSION}")
    known = {key: frozenset(holders) for key, holders in raw["steps"].items()}
    seen = {str(k): str(v) for k, v in raw.get("seen", {}).items()}
    return RelayState(known, seen)


def save(path: Path, state: RelayState) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    body = {
        "version": VERSION,
        "steps": {k: sorted(v) for k, v in sorted(state.known.items())},
        "seen": dict(sorted(state.seen.items())),
    }
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(body, handle, indent=1)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@contextmanager
def locked(path: Path) -> Iterator[None]:
    """Hold the state's lock (blocking): load, change and save inside it, never a network call."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path.with_name(f"{path.name}.lock"), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock
