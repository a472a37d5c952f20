"""The pin files stay what `make lock` makes of them: the layer locks and the dev constraints name
no developer's directory, the constraints pin what requirements/dev.txt asks for at its versions,
and this virtualenv holds exactly the constraints' versions (CI installs with
`-c requirements/constraints.txt`, so a pin that drifts from the venv would go untested)."""

from __future__ import annotations

import re
from importlib import metadata
from pathlib import Path

import pytest
from packaging.markers import Marker
from packaging.utils import canonicalize_name

from tests.conftest import REPO_ROOT

CONSTRAINTS = REPO_ROOT / "requirements" / "constraints.txt"
LOCKS = [
    REPO_ROOT / "layers" / "shared" / "requirements.txt",
    REPO_ROOT / "layers" / "firebase" / "requirements.txt",
    CONSTRAINTS,
]
_REFERENCE = re.compile(r"^\s*#\s+(?:via\s+)?-[cr]\s+(?P<path>\S+)")
_PIN = re.compile(
    r"^(?P<name>[A-Za-z0-9._-]+)(?:\[[^\]]*\])?==(?P<version>[^\s;\\]+)(?:\s*;(?P<marker>.*))?"
)


def _pins(path: Path) -> dict[str, tuple[str, str | None]]:
    """{canonical name: (version, environment marker)} of a requirements file's own pins."""
    found: dict[str, tuple[str, str | None]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        match = _PIN.match(line)
        if match:
            marker = (match["marker"] or "").strip() or None
            found[canonicalize_name(match["name"])] = (match["version"], marker)
    return found


def _dev_requirements(path: Path) -> dict[str, tuple[str, str | None]]:
    """requirements/dev.txt's pins with those of the files it includes with `-r`."""
    found = _pins(path)
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("-r "):
            found |= _dev_requirements((path.parent / line[3:].strip()).resolve())
    return found


@pytest.mark.parametrize("lock", LOCKS, ids=lambda p: str(p.relative_to(REPO_ROOT)))
def test_a_lock_names_files_by_paths_relative_to_the_repository(lock: Path) -> None:
    references = [
        m["path"]
        for line in lock.read_text(encoding="utf-8").splitlines()
        if (m := _REFERENCE.match(line))
    ]
    assert references, f"{lock} says where its pins come from"
    absolute = [r for r in references if Path(r).is_absolute()]
    assert absolute == []
    # uv ran in the lock's directory (layers) or at the repository's root (constraints).
    missing = [
        r for r in references if not (lock.parent / r).exists() and not (REPO_ROOT / r).exists()
    ]
    assert missing == []


def test_the_constraints_pin_every_dev_requirement_at_its_version() -> None:
    wanted = _dev_requirements(REPO_ROOT / "requirements" / "dev.txt")
    pinned = _pins(CONSTRAINTS)
    differing = {
        name: (version, pinned.get(name, ("missing",))[0])
        for name, (version, _) in wanted.items()
        if pinned.get(name, ("missing",))[0] != version
    }
    assert differing == {}


def test_this_virtualenv_holds_exactly_the_constrained_versions() -> None:
    """Every pin that applies here is installed at its version: the venv is what the
    constraints say, so the tests ran against the locked set."""
    pinned = _pins(CONSTRAINTS)
    assert len(pinned) > 50, "requirements/constraints.txt is the whole closure"
    installed: dict[str, str] = {
        canonicalize_name(d.metadata["Name"]): d.version for d in metadata.distributions()
    }
    differing = {
        name: (version, installed.get(name, "not installed"))
        for name, (version, marker) in pinned.items()
        if (marker is None or Marker(marker).evaluate()) and installed.get(name) != version
    }
    assert differing == {}
