"""The relay as an administrator installs it (issue 24): its wheel, built from
senders/relay/pyproject.toml, installed with only senders/relay/requirements.txt into a fresh
venv, run as `ecmpush-relay` from a directory outside the repository with no PYTHONPATH. It
polls the Content Server stand-in and posts to the webhook (the real handler behind API
Gateway's stand-in); each mistake an administrator can make ends in one log line naming its
cause and an exit status, never a traceback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import venv
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from devstack import template as cfn
from devstack.api_router import ApiRouter
from devstack.http_server import BackgroundServer
from devstack.stack import local_ecm_credentials
from senders.relay.assignments import event_id
from tests.integration.harness import WEBHOOK_SECRET, Harness

REPO = Path(__file__).resolve().parents[2]
RELAY = REPO / "senders" / "relay"
API_KEY = "package-test-api-key"
WATCHED_MAP = 39100
STEP = {
    "process_id": 5100,
    "subprocess_id": 5100,
    "task_id": 1,
    "title": "Approve the packaged relay",
    "assignee": "asmith",
    "initiator": "dlee",
    "map_id": WATCHED_MAP,
    "actions": [{"key": "SendOn", "label": "Send On"}],
}
pytestmark = pytest.mark.timeout(300)


def _run(command: list[str], cwd: Path, env: dict[str, str] | None = None) -> None:
    subprocess.run(  # noqa: S603 - pip and venv, arguments of our own
        command, cwd=cwd, env=env, check=True, capture_output=True, text=True
    )


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv holding the relay's requirements.txt and its wheel, nothing else: the
    `ecmpush-relay` script it installed."""
    root = tmp_path_factory.mktemp("relay-install")
    venv.EnvBuilder(with_pip=True).create(root / "venv")
    python = str(root / "venv" / "bin" / "python")
    pip = [python, "-m", "pip", "--disable-pip-version-check", "-q"]
    _run([*pip, "wheel", "--no-deps", "-w", str(root / "dist"), str(RELAY)], root)
    _run([*pip, "install", "-r", str(RELAY / "requirements.txt")], root)
    [wheel] = (root / "dist").glob("ecmpush_relay-*.whl")
    _run([*pip, "install", "--no-deps", str(wheel)], root)
    return root / "venv" / "bin" / "ecmpush-relay"


@pytest.fixture
def webhook(harness: Harness) -> Iterator[str]:
    (route,) = cfn.functions(cfn.load())["WebhookIntakeFunction"].routes
    router = ApiRouter([(route, harness.webhook)], api_keys=frozenset({API_KEY}))
    with BackgroundServer(router) as server:
        yield server.url


def _configure(directory: Path, webhook: str, ecm_url: str, **changes: Any) -> Path:
    """relay.json with relative paths (read beside it) and the ECM secret file beside it."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "ecm-secret.json").write_text(json.dumps(local_ecm_credentials(ecm_url)))
    config = {
        "webhook_url": webhook,
        "webhook_secret_env": "ECMPUSH_WEBHOOK_SECRET",
        "webhook_api_key_env": "ECMPUSH_WEBHOOK_API_KEY",
        "tenant": "acme",
        "ecm_base_url": ecm_url,
        "ecm_secret_file": "ecm-secret.json",
        "state_file": "state/relay-state.json",
        "maps": {str(WATCHED_MAP): {"stage": "approval"}},
    }
    for key, value in changes.items():
        if value is None:
            config.pop(key, None)
        else:
            config[key] = value
    path = directory / "relay.json"
    path.write_text(json.dumps(config))
    return path


def _relay(
    command: Path, config: Path, cwd: Path, **environment: str
) -> tuple[int, list[dict[str, Any]]]:
    """One `ecmpush-relay poll` in `cwd`, with a bare environment; its exit status and its
    log lines (each must be a JSON object: no traceback, no stray print)."""
    env = {
        "PATH": f"{command.parent}:/usr/bin:/bin",
        "HOME": str(cwd),
        "ECMPUSH_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "ECMPUSH_WEBHOOK_API_KEY": API_KEY,
        **environment,
    }
    done = subprocess.run(  # noqa: S603 - the relay just installed
        [str(command), "poll", "--config", str(config)],
        cwd=cwd,
        env={k: v for k, v in env.items() if v},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.stdout == ""
    assert "Traceback" not in done.stderr
    return done.returncode, [json.loads(line) for line in done.stderr.splitlines()]


def _messages(lines: list[dict[str, Any]], level: str) -> str:
    return "\n".join(line["message"] for line in lines if line["level"] == level)


def test_the_installed_relay_runs_outside_the_repository_on_its_own_requirements(
    installed: Path,
) -> None:
    python = installed.parent / "python"
    frozen = subprocess.run(  # noqa: S603 - the venv's own pip
        [str(python), "-m", "pip", "freeze"], capture_output=True, text=True, check=True
    ).stdout
    pinned = {
        line.split("==")[0].lower()
        for line in (RELAY / "requirements.txt").read_text().splitlines()
        if line and not line.startswith("#")
    }
    names = {
        line.split("==")[0].split(" @ ")[0].lower().replace("_", "-")
        for line in frozen.splitlines()
    }
    assert names == pinned | {"ecmpush-relay"}
    probe = "import senders.relay.__main__, ecmpush.adapters.ecm.client; import boto3"
    refused = subprocess.run(  # noqa: S603 - the venv's python, our probe
        [str(python), "-c", probe], cwd="/", capture_output=True, text=True, check=False
    )
    assert "No module named 'boto3'" in refused.stderr  # the relay's imports load without it


def test_the_installed_relay_polls_the_stand_in_and_the_assignee_gets_the_push(
    installed: Path,
    harness: Harness,
    webhook: str,
    ecm_server: tuple[Any, str],
    tmp_path: Path,
) -> None:
    harness.register("asmith", "asmith-phone-5100aaaa", "fcm-asmith-package", "android")
    harness.ecm.seed({"tasks": [STEP]})
    config = _configure(tmp_path / "etc", webhook, ecm_server[1])
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()

    status, lines = _relay(installed, config, elsewhere)

    assert status == 0, lines
    [report] = [line["report"] for line in lines if line["message"] == "poll"]
    assert (report["workflows"], report["sent"], report["pending"]) == (1, 1, 0)
    stored = harness.table("EventsTable").get_item(
        Key={"event_id": event_id("5100/5100/1", "asmith")}
    )
    assert stored["Item"]["type"] == "task.assigned"
    harness.drain()
    [push] = harness.fcm.messages(token="fcm-asmith-package")
    assert "Approve the packaged relay" in json.dumps(push)
    kept = json.loads((tmp_path / "etc" / "state" / "relay-state.json").read_text())
    assert kept["steps"] == {"5100/5100/1": ["asmith"]}  # beside the configuration, not in cwd
    assert not (elsewhere / "state").exists()

    assert _relay(installed, config, elsewhere)[0] == 0  # nothing new: nothing sent
    harness.drain()
    assert len(harness.fcm.messages(token="fcm-asmith-package")) == 1


def test_the_webhook_refusing_the_relay_is_said_plainly(
    installed: Path,
    harness: Harness,
    webhook: str,
    ecm_server: tuple[Any, str],
    tmp_path: Path,
) -> None:
    harness.ecm.seed({"tasks": [STEP]})
    config = _configure(tmp_path, webhook, ecm_server[1])
    status, lines = _relay(installed, config, tmp_path, ECMPUSH_WEBHOOK_SECRET="not-the-secret")
    assert status == 3
    assert "refused the signature" in _messages(lines, "ERROR")
    assert "not-the-secret" not in json.dumps(lines)

    keyless = _configure(tmp_path, webhook, ecm_server[1], webhook_api_key_env=None)
    status, lines = _relay(installed, keyless, tmp_path)
    assert status == 3
    assert "API Gateway refused the request" in _messages(lines, "ERROR")

    misrouted = _configure(tmp_path, f"{webhook}/ecm/events", ecm_server[1])  # the route, not base
    status, lines = _relay(installed, misrouted, tmp_path)
    assert status == 3
    assert "API Gateway has no route" in _messages(lines, "ERROR")
    assert harness.queue_depth() == 0  # nothing reached intake, nothing recorded as sent
    assert json.loads((tmp_path / "state" / "relay-state.json").read_text())["steps"] == {}


@pytest.mark.parametrize(
    ("changes", "environment", "cause"),
    [
        ({"ecm_secret_file": "missing/ecm-secret.json"}, {}, "missing/ecm-secret.json does not"),
        ({}, {"ECMPUSH_WEBHOOK_SECRET": ""}, "$ECMPUSH_WEBHOOK_SECRET"),
        ({}, {"ECMPUSH_WEBHOOK_API_KEY": ""}, "$ECMPUSH_WEBHOOK_API_KEY"),
        ({"maps": {"39100": {"stage": "urgent"}}}, {}, "maps.39100: stage must be one of"),
        ({"webhook_url": "ecmpush.example.com"}, {}, "webhook_url must be an http(s) URL"),
    ],
)
def test_configuration_mistakes_exit_2_naming_the_key(
    installed: Path,
    tmp_path: Path,
    changes: dict[str, Any],
    environment: dict[str, str],
    cause: str,
) -> None:
    config = _configure(tmp_path, "http://127.0.0.1:9", "http://127.0.0.1:9", **changes)
    status, lines = _relay(installed, config, Path(os.sep), **environment)
    assert status == 2
    assert cause in _messages(lines, "ERROR")


def test_content_server_unreachable_is_said_plainly(
    installed: Path, harness: Harness, webhook: str, tmp_path: Path
) -> None:
    config = _configure(tmp_path, webhook, "http://127.0.0.1:9/otcs/cs.exe")
    status, lines = _relay(installed, config, tmp_path)
    assert status == 4
    assert "Content Server at http://127.0.0.1:9/otcs/cs.exe cannot be read now" in _messages(
        lines, "ERROR"
    )


def test_python_m_is_the_same_command() -> None:
    """`python -m senders.relay` (a repository checkout, layers/shared on the path) is the
    same command."""
    done = subprocess.run(
        [sys.executable, "-m", "senders.relay", "--help"],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO / "layers" / "shared")},
        capture_output=True,
        text=True,
        check=True,
    )
    assert "ecmpush-relay" in done.stdout
