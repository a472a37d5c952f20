"""No log call passes an `extra` key that the standard LogRecord already has: logging raises
KeyError for it ("Attempt to overwrite 'created' in LogRecord"), so the request that logs fails
with a 500 at INFO level, the template's default, while tests at a quieter level pass."""

from __future__ import annotations

import ast
import logging
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
RESERVED = set(logging.LogRecord("n", 0, "p", 0, "m", (), None).__dict__) | {"message", "asctime"}


def _sources() -> list[Path]:
    roots = [REPO / "functions", REPO / "layers" / "shared" / "ecmpush", REPO / "devstack"]
    return [path for root in roots for path in sorted(root.rglob("*.py"))]


def test_no_log_extra_overwrites_a_log_record_attribute() -> None:
    clashes = []
    for path in _sources():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.keyword)
                and node.arg == "extra"
                and isinstance(node.value, ast.Dict)
            ):
                keys = [k.value for k in node.value.keys if isinstance(k, ast.Constant)]
                clashes += [
                    f"{path.relative_to(REPO)}:{node.lineno} {k}" for k in keys if k in RESERVED
                ]
    assert clashes == []
