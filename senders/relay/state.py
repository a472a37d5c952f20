"""The relay's memory, shared by `poll` and the announce endpoint (`POST /steps`): which steps
it announced to whom (`known`), and when it first built each event it has not delivered yet
(`seen`, event id → `occurred_at`). A JSON file written atomically (write, fsync, rename), so a
crash leaves the old or the new state, never half; read-modify-write only under `locked()` (an
exclusive `flock` on a lock file beside it), so a poll and an announce running in two processes
never overwrite each other's update.

`seen` is what makes two senders word one step identically: whoever builds an event first fixes
its `occurred_at` here before posting, and every later build of that event (the other sender, a
retry after the webhook was down, a relay that crashed before recording the answer) takes it from
here. The webhook then answers the second post `duplicate`, never `conflict`.

Where the state lives is a `StateStore`: this file (`FileStateStore`, the standalone relay) or
a DynamoDB item (`TableStateStore`, the scheduled `RelayPollFunction`, which has no disk that
outlives an invocation)."""

from __future__ import annotations

import fcntl
import json
import os
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

VERSION = 2  # 1: {"steps"} only; read as version 2 with nothing seen


@dataclass
class RelayState:
    known: dict[str, frozenset[str]] = field(default_factory=dict)
    seen: dict[str, str] = field(default_factory=dict)


def from_document(raw: Any, where: str) -> RelayState:
    """The state from its JSON document (the file's content, the table item's)."""
    if not isinstance(raw, dict) or raw.get("version") not in (1, VERSION):
        raise ValueError(f"{where}: not a relay state of version 1 or {VERSION}")
    known = {key: frozenset(holders) for key, holders in raw["steps"].items()}
    seen = {str(k): str(v) for k, v in raw.get("seen", {}).items()}
    return RelayState(known, seen)


def to_document(state: RelayState) -> dict[str, Any]:
    return {
        "version": VERSION,
        "steps": {k: sorted(v) for k, v in sorted(state.known.items())},
        "seen": dict(sorted(state.seen.items())),
    }


def load(path: Path) -> RelayState:
    if not path.exists():
        return RelayState()
    return from_document(json.loads(path.read_text(encoding="utf-8")), str(path))


def save(path: Path, state: RelayState) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    body = to_document(state)
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


class StateStore(Protocol):
    """Where the relay keeps its state: read-modify-write only inside `locked()`."""

    def locked(self) -> AbstractContextManager[None]: ...

    def load(self) -> RelayState: ...

    def save(self, state: RelayState) -> None: ...


@dataclass(frozen=True)
class FileStateStore:
    """The standalone relay's state: a JSON file (`state_file`), locked with `flock`."""

    path: Path

    def locked(self) -> AbstractContextManager[None]:
        return locked(self.path)

    def load(self) -> RelayState:
        return load(self.path)

    def save(self, state: RelayState) -> None:
        save(self.path, state)


class StateDocuments(Protocol):
    """One JSON document kept elsewhere (`ecmpush.ports.RelayStateDocuments`)."""

    def read(self) -> tuple[Mapping[str, Any] | None, int]: ...

    def write(self, document: Mapping[str, Any], expected_revision: int) -> None: ...


class TableStateStore:
    """The state as one document with a revision number (the scheduled function's DynamoDB
    item): `save` writes only over the revision `load` read, so two overlapping runs cannot
    both win; the loser raises and its events are sent again by the next run, as after any
    failure. `locked()` holds nothing: the function runs one invocation at a time
    (ReservedConcurrentExecutions 1) and the revision check catches the rest."""

    def __init__(self, documents: StateDocuments) -> None:
        self._documents = documents
        self._revision = 0

    @contextmanager
    def locked(self) -> Iterator[None]:
        yield

    def load(self) -> RelayState:
        document, self._revision = self._documents.read()
        return RelayState() if document is None else from_document(dict(document), "state")

    def save(self, state: RelayState) -> None:
        self._documents.write(to_document(state), self._revision)
        self._revision += 1
