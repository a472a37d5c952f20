"""The relay's memory between polls: which steps it announced to whom. A JSON file written
atomically (write, fsync, rename), so a crash leaves the old or the new state, never half."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

VERSION = 1


def load(path: Path) -> dict[str, frozenset[str]]:
    if not path.exists():
        return {}
    raw = json.loads(path.read_text(encoding="utf-8"))
    if raw.get("version") != VERSION:
        raise ValueError(f"{path}: not a relay state file of version {VERSION}")
    return {key: frozenset(holders) for key, holders in raw["steps"].items()}


def save(path: Path, steps: dict[str, frozenset[str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    body = {"version": VERSION, "steps": {k: sorted(v) for k, v in sorted(steps.items())}}
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
