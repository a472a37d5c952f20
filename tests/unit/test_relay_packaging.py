"""What the relay's wheel ships (senders/relay/pyproject.toml) covers what its modules import:
every relay module, and every `ecmpush` module reached from them, so a new import cannot leave
the installed relay failing where the repository's tests pass. The deploy files run the
installed entry point. Installing and running the wheel: tests/integration/test_relay_package.py."""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
RELAY = REPO / "senders" / "relay"
SHARED = REPO / "layers" / "shared"
PYPROJECT = tomllib.loads((RELAY / "pyproject.toml").read_text())
# The scheduled function's wiring (RelayPollFunction's artifact), not the standalone relay's.
FUNCTION_ONLY = {"function.py"}


def _shipped() -> dict[Path, str]:
    included = PYPROJECT["tool"]["hatch"]["build"]["targets"]["wheel"]["force-include"]
    return {(RELAY / source).resolve(): target for source, target in included.items()}


def _module_file(name: str) -> Path | None:
    root = SHARED if name.split(".")[0] == "ecmpush" else REPO
    base = root.joinpath(*name.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.exists():
            return candidate
    return None


def _first_party_imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return {n for n in names if n.split(".")[0] in ("ecmpush", "senders")}


def _reached() -> set[Path]:
    """Every first-party file the relay's modules import, transitively, with the packages'
    `__init__.py` files Python runs on the way."""
    pending = sorted(p for p in RELAY.glob("*.py") if p.name not in FUNCTION_ONLY)
    seen: set[Path] = set()
    while pending:
        path = pending.pop().resolve()
        if path in seen:
            continue
        seen.add(path)
        for name in _first_party_imports(path):
            parts = name.split(".")
            for depth in range(1, len(parts) + 1):
                found = _module_file(".".join(parts[:depth]))
                if found is not None:
                    pending.append(found)
    return seen


def test_the_wheel_ships_every_module_the_relay_imports() -> None:
    shipped = _shipped()
    missing = [
        str(path.relative_to(REPO))
        for path in sorted(_reached())
        if not any(path == source or source in path.parents for source in shipped)
    ]
    assert missing == []


def test_the_wheel_ships_every_relay_module_but_the_functions_wiring() -> None:
    shipped = {p.name for p in _shipped() if p.parent == RELAY}
    assert shipped == {p.name for p in RELAY.glob("*.py")} - FUNCTION_ONLY


def test_the_wheel_ships_no_aws_code() -> None:
    """The relay runs next to Content Server: no boto3 adapters, no Lambda entry points."""
    targets = set(_shipped().values())
    assert not any(t.startswith("ecmpush/bootstrap") for t in targets)
    entrypoints = {t for t in targets if t.startswith("ecmpush/entrypoints")}
    assert entrypoints == {
        "ecmpush/entrypoints/__init__.py",
        "ecmpush/entrypoints/webhook_signature.py",  # the signature only: no Powertools
    }
    assert "ecmpush/adapters/ecm" in targets
    adapters = {t for t in targets if t.startswith("ecmpush/adapters/")}
    assert adapters == {"ecmpush/adapters/__init__.py", "ecmpush/adapters/ecm"}


def test_the_entry_point_and_the_deploy_files_run_the_same_command() -> None:
    assert PYPROJECT["project"]["scripts"] == {"ecmpush-relay": "senders.relay.__main__:main"}
    unit = (RELAY / "deploy" / "ecmpush-relay.service").read_text()
    [exec_start] = [line for line in unit.splitlines() if line.startswith("ExecStart=")]
    assert exec_start.split()[0] == "ExecStart=/opt/ecmpush-relay/bin/ecmpush-relay"
    assert "RestartPreventExitStatus=2" in unit  # a configuration mistake is not retried
    container = (RELAY / "deploy" / "Containerfile").read_text()
    assert 'ENTRYPOINT ["ecmpush-relay"]' in container
    copied = [line.split()[1] for line in container.splitlines() if line.startswith("COPY ")]
    sources = [s for s in copied if not s.startswith("--")]
    assert all((REPO / source).exists() for source in sources), sources


def test_requirements_pin_the_declared_dependencies_at_the_tested_versions() -> None:
    def pins(path: Path) -> dict[str, str]:
        lines = [line.split("#")[0].strip() for line in path.read_text().splitlines()]
        return dict(line.replace("_", "-").lower().split("==", 1) for line in lines if "==" in line)

    relay = pins(RELAY / "requirements.txt")
    tested = pins(REPO / "requirements" / "constraints.txt")
    assert {name: tested.get(name) for name in relay} == relay
    declared = {d.split(">")[0].split("=")[0].lower() for d in PYPROJECT["project"]["dependencies"]}
    assert declared <= set(relay)


def test_the_functions_artifact_holds_the_relay_and_imports_with_the_shared_layer(
    tmp_path: Path,
) -> None:
    """functions/relay_poll/Makefile (SAM's makefile build) copies the handler and senders/relay;
    with SharedLayer's ecmpush on the path, the artifact imports what the handler's first run
    does. layer_check.py probes the same code (BUNDLED)."""
    import shutil
    import subprocess
    import sys

    import layer_check

    artifact = tmp_path / "artifact"
    artifact.mkdir()
    make = shutil.which("make")
    assert make is not None
    makefile = str(REPO / "functions" / "relay_poll" / "Makefile")
    subprocess.run(  # noqa: S603 - make, our Makefile
        [make, "-s", "-f", makefile, "build-RelayPollFunction"],
        env={"ARTIFACTS_DIR": str(artifact), "PATH": "/usr/bin:/bin"},
        cwd=tmp_path,
        check=True,
    )
    assert {p.name for p in (artifact / "senders" / "relay").glob("*.py")} == {
        p.name for p in RELAY.glob("*.py")
    }
    probe = "import app; from senders.relay.function import RelayPoll; print(RelayPoll.__name__)"
    done = subprocess.run(  # noqa: S603 - this interpreter, our probe
        [sys.executable, "-c", probe],
        cwd=artifact,
        env={"PYTHONPATH": f"{artifact}:{SHARED}", "POWERTOOLS_SERVICE_NAME": "ecmpush"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.stdout.strip() == "RelayPoll", done.stderr
    bundled = (REPO / "functions" / "relay_poll" / layer_check.BUNDLED["relay_poll"]).resolve()
    assert (bundled / "senders" / "relay").is_dir()
