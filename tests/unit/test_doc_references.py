"""Docs and module docstrings name modules and names that exist (issue 22 item 7): a rename or a
move that leaves `services/group_walk.py` or `ports.EcmWorkflows` behind in prose fails here,
in the file that still says it.

Checked: repository paths (`domain/x.py`, `docs/x.md`, `tests/unit/test_x.py`, resolved from
the repository, the ecmpush package, the layers or tests) and dotted names (`ecmpush.a.b.Name`,
`ports.Name`) in docs/, README.md and the deployed code. Paths into other projects' trees
(`google/auth/...`) are not ours to check."""

from __future__ import annotations

import ast
import functools
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO / "layers" / "shared"
ROOTS = (REPO, SHARED / "ecmpush", SHARED, REPO / "layers", REPO / "tests")
# The first segments a path of this repository starts with, in prose.
OURS = frozenset(
    {
        "layers", "functions", "devstack", "bench", "senders", "tests", "docs", "clients",
        "events", "requirements", "domain", "services", "adapters", "entrypoints",
        "bootstrap", "unit", "integration", "e2e", "local_stack", "contract", "ecmpush",
    }
)  # fmt: skip
PATH = re.compile(r"(?<![\w./-])((?:[A-Za-z_][\w.-]*/)+[\w.-]+\.(?:py|md))\b")
# Not a `<locals>` qualname: the idempotency records' historical name is a string, not a name.
DOTTED = re.compile(r"(?<![\w./])(ecmpush(?:\.\w+)+|ports\.\w+)(?![\w/])(?!(?:\.\w+)*\.<)")


def _texts() -> list[Path]:
    docs = [*sorted((REPO / "docs").rglob("*.md")), REPO / "README.md"]
    code = [p for root in (SHARED / "ecmpush", REPO / "functions") for p in root.rglob("*.py")]
    return docs + sorted(p for p in code if "__pycache__" not in p.parts)


@functools.cache
def _top_level_names(path: Path) -> frozenset[str]:
    found: set[str] = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            found.add(node.name)
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            found |= {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}
        elif isinstance(node, ast.Import | ast.ImportFrom):
            found |= {(a.asname or a.name).split(".")[0] for a in node.names}
    return frozenset(found)


def _name_exists(dotted: str) -> bool:
    """`ecmpush.a.b` is a package or module, `ecmpush.a.Name` a top-level name of module `a`."""
    parts = dotted.split(".")
    if parts[0] == "ports":
        parts = ["ecmpush", *parts]
    here, index = SHARED, 0
    while index < len(parts) and (here / parts[index]).is_dir():
        here, index = here / parts[index], index + 1
    if index < len(parts) and (here / f"{parts[index]}.py").is_file():
        here, index = here / f"{parts[index]}.py", index + 1
    if index == len(parts):
        return True
    module = here / "__init__.py" if here.is_dir() else here
    return module.is_file() and parts[index] in _top_level_names(module)


def dead_references(path: Path, text: str) -> list[str]:
    dead = [
        ref
        for ref in PATH.findall(text)
        if ref.split("/")[0] in OURS
        and not any((root / ref).exists() for root in (*ROOTS, path.parent))
    ]
    dead += [
        ref
        for ref in DOTTED.findall(text)
        if not ref.endswith((".py", ".md")) and not _name_exists(ref)
    ]
    return dead


@pytest.mark.parametrize("path", _texts(), ids=lambda p: str(p.relative_to(REPO)))
def test_docs_and_docstrings_name_only_what_exists(path: Path) -> None:
    assert dead_references(path, path.read_text()) == []


def test_the_check_finds_stale_paths_and_names() -> None:
    """`services/group_walk.py` (issue 22's example) and `ports.EcmWorkflows` (a port the
    reshape renamed) are gone; the check must say so."""
    prose = (
        "see services/group_walk.py and `ports.EcmWorkflows`; "
        "domain/delivery/group_walk.py is real, and ecmpush.gone.f.<locals>.g is a historical "
        "qualname, not a reference"
    )
    assert dead_references(REPO / "README.md", prose) == [
        "services/group_walk.py",
        "ports.EcmWorkflows",
    ]
