"""The shape of the product code in figures (issue 22): the largest constructor, cyclomatic
complexity (ruff's mccabe, every function), protocols in `ports.py`, module docstring words.
Static: it reads the source, runs nothing of it, and says the same on any machine.

`python -m bench shape` writes bench/results/shape.json; docs/benchmarks.md keeps the figures
before and after a change in shape."""

from __future__ import annotations

import ast
import json
import re
import statistics
import subprocess
import sys
from pathlib import Path

from bench._common import REPO, Json, Row, Spec

PRODUCT = (REPO / "layers" / "shared" / "ecmpush", REPO / "functions")
_COMPLEXITY = re.compile(r"`(?P<name>[^`]+)` is too complex \((?P<n>\d+) > 0\)")


def _modules() -> list[Path]:
    return sorted(p for root in PRODUCT for p in root.rglob("*.py") if "__pycache__" not in p.parts)


def _constructor_arguments(tree: ast.Module) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, ast.FunctionDef) and item.name == "__init__":
                    args = item.args
                    count = len(args.args) + len(args.kwonlyargs) - 1  # without self
                    found.append((count, node.name))
    return found


def _protocols(path: Path) -> int:
    tree = ast.parse(path.read_text())
    return sum(
        1
        for node in tree.body
        if isinstance(node, ast.ClassDef)
        and any(getattr(b, "id", getattr(b, "attr", "")) == "Protocol" for b in node.bases)
    )


def _complexities() -> list[tuple[int, str]]:
    """Every function's complexity, from ruff's C901 with the threshold at zero."""
    done = subprocess.run(  # noqa: S603 - ruff from this interpreter's environment
        [sys.executable, "-m", "ruff", "check", "--select", "C901", "--config",
         "lint.mccabe.max-complexity = 0", "--output-format", "concise", "--no-cache",
         *map(str, PRODUCT)],
        capture_output=True, text=True, check=False, cwd=REPO,
    )  # fmt: skip
    return [(int(m["n"]), m["name"]) for m in _COMPLEXITY.finditer(done.stdout + done.stderr)]


def run(quick: bool) -> Json:
    constructors: list[tuple[int, str]] = []
    docstring_words: list[tuple[int, str]] = []
    for path in _modules():
        tree = ast.parse(path.read_text())
        constructors += _constructor_arguments(tree)
        doc = ast.get_docstring(tree) or ""
        docstring_words.append((len(doc.split()), str(path.relative_to(REPO))))
    complexity = _complexities()
    largest = max(constructors)
    words = [w for w, _ in docstring_words]
    return {
        "modules": len(docstring_words),
        "largest_constructor": {"arguments": largest[0], "class": largest[1]},
        "complexity": {
            "max": max(complexity)[0],
            "max_at": max(complexity)[1],
            "mean": round(statistics.fmean(n for n, _ in complexity), 2),
            "over_15": sorted(name for n, name in complexity if n > 15),
            "functions": len(complexity),
        },
        "protocols_in_ports": _protocols(REPO / "layers" / "shared" / "ecmpush" / "ports.py"),
        "module_docstrings": {
            "over_100_words": sum(1 for w in words if w > 100),
            "longest": max(docstring_words)[0],
            "longest_at": max(docstring_words)[1],
            "total_words": sum(words),
        },
    }


def headline(result: Json) -> list[Row]:
    c, d = result["complexity"], result["module_docstrings"]
    return [
        ("largest constructor", f"{result['largest_constructor']['arguments']} arguments "
         f"({result['largest_constructor']['class']})"),
        ("cyclomatic complexity", f"max {c['max']} ({c['max_at']}), mean {c['mean']}, "
         f"{len(c['over_15'])} over 15"),
        ("protocols in ports.py", str(result["protocols_in_ports"])),
        ("module docstrings", f"{d['over_100_words']} over 100 words, longest {d['longest']}"),
    ]  # fmt: skip


SPEC = Spec("shape", "the product code's shape (static figures)", run, headline)

if __name__ == "__main__":
    print(json.dumps(run(False), indent=2))
