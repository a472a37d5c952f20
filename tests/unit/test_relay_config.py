"""The relay's configuration mistakes and the webhook's refusals, each said plainly (issue 24):
a `RelayConfigError` naming the key and the cause, never a secret's value; `ecmpush-relay`
turns it into one JSON log line and exit status 2."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest

from senders.relay import __main__ as relay_main
from senders.relay.config import RelayConfigError, load, map_rules
from senders.relay.webhook import failure_cause

SECRET = {"username": "svc-relay", "password": "hunter2-not-logged"}
ENVIRON = {"ECMPUSH_WEBHOOK_SECRET": "s3cret", "KEY": "the-key"}


def _write(directory: Path, **changes: Any) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "ecm.json").write_text(json.dumps(SECRET))
    raw: dict[str, Any] = {
        "webhook_url": "https://abc.execute-api.eu-central-1.amazonaws.com/prod",
        "webhook_api_key_env": "KEY",
        "tenant": "acme",
        "ecm_base_url": "https://otcs.example.com/otcs/cs.exe",
        "ecm_secret_file": "ecm.json",
        "state_file": "state/relay.json",
    }
    raw.update(changes)
    path = directory / "relay.json"
    path.write_text(json.dumps(raw))
    return path


def test_relative_paths_are_read_beside_the_configuration(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _write(tmp_path / "etc")
    monkeypatch.chdir(tmp_path)  # not the configuration's directory
    config = load(Path("etc/relay.json"), ENVIRON)
    assert config.state_file == (tmp_path / "etc" / "state" / "relay.json").resolve()
    assert dict(config.ecm_secret) == SECRET
    assert config.webhook_api_key == "the-key"
    absolute = _write(tmp_path / "etc", state_file=str(tmp_path / "var" / "state.json"))
    assert load(absolute, ENVIRON).state_file == tmp_path / "var" / "state.json"
    assert path == absolute


@pytest.mark.parametrize(
    ("changes", "environ", "message"),
    [
        ({"ecm_secret_file": "nowhere/ecm.json"}, ENVIRON, "nowhere/ecm.json does not exist"),
        ({}, {"KEY": "k"}, "$ECMPUSH_WEBHOOK_SECRET (webhook_secret_env), which is not set"),
        ({}, {"ECMPUSH_WEBHOOK_SECRET": "s"}, "$KEY (webhook_api_key_env), which is not set"),
        ({"webhook_api_key_env": ""}, ENVIRON, "webhook_api_key_env must name an environment"),
        ({"tenant": ""}, ENVIRON, "tenant is required"),
        ({"ecm_base_url": "otcs.example.com"}, ENVIRON, "ecm_base_url must be an http(s) URL"),
        ({"maps": {"x": {}}}, ENVIRON, "maps must be an object keyed by workflow map ids"),
        ({"maps": {"7": {"stage": "x"}}}, ENVIRON, "maps.7: stage must be one of"),
        ({"maps": {"7": {"owner": "x"}}}, ENVIRON, "maps.7: unknown keys ['owner']"),
        ({"default_stage": "urgent"}, ENVIRON, "default_stage must be one of"),
        ({"webhook_secret": "inline"}, ENVIRON, "unknown keys ['webhook_secret']"),
    ],
)
def test_each_mistake_names_its_key(
    tmp_path: Path, changes: dict[str, Any], environ: dict[str, str], message: str
) -> None:
    with pytest.raises(RelayConfigError) as caught:
        load(_write(tmp_path, **changes), environ)
    assert message in str(caught.value)


def test_unreadable_files_are_named_with_the_reason(tmp_path: Path) -> None:
    with pytest.raises(RelayConfigError, match=r"relay configuration .*missing.json does not"):
        load(tmp_path / "missing.json", ENVIRON)
    broken = tmp_path / "relay.json"
    broken.write_text('{"tenant": "acme",}')
    with pytest.raises(RelayConfigError, match=r"is not JSON \(line 1, column 18"):
        load(broken, ENVIRON)
    path = _write(tmp_path)
    (tmp_path / "ecm.json").write_text('["not", "an", "object"]')
    with pytest.raises(RelayConfigError, match="must hold a JSON object"):
        load(path, ENVIRON)


def test_a_wrong_ecm_secret_names_keys_never_values(tmp_path: Path) -> None:
    path = _write(tmp_path)
    (tmp_path / "ecm.json").write_text(json.dumps({**SECRET, "pasword": "typo-value"}))
    with pytest.raises(RelayConfigError) as caught:
        load(path, ENVIRON)
    assert "unknown keys in ECM secret: ['pasword']" in str(caught.value)
    assert "typo-value" not in str(caught.value)
    assert "hunter2" not in str(caught.value)


def test_map_rules_are_the_files_and_the_functions() -> None:
    rules, stage = map_rules({"30000": {"stage": "approval", "priority": "high"}}, "review")
    assert (rules[30000].stage, rules[30000].priority, stage) == ("approval", "high", "review")
    with pytest.raises(RelayConfigError, match="maps must be an object"):
        map_rules(["30000"])


@pytest.mark.parametrize(
    ("status", "cause"),
    [
        ("failed:401", "refused the signature"),
        ("failed:403", "API Gateway refused the request"),
        ("failed:404", "nothing answers at https://w.example/prod/ecm/events"),
        ("failed:no-route", "API Gateway has no route https://w.example/prod/ecm/events"),
        ("failed:ConnectionError", "https://w.example/prod cannot be reached"),
        ("failed:502", "the webhook answered 502"),
    ],
)
def test_whole_request_failures_have_a_plain_cause(status: str, cause: str) -> None:
    assert cause in str(failure_cause(status, "https://w.example/prod/"))


def test_per_event_statuses_are_not_failures() -> None:
    assert failure_cause("accepted", "https://w.example") is None
    assert failure_cause("unavailable", "https://w.example") is None


def test_the_command_says_a_configuration_mistake_in_one_json_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ECMPUSH_WEBHOOK_SECRET", raising=False)
    path = _write(tmp_path)
    try:
        status = relay_main.main(["poll", "--config", str(path)])
    finally:
        logging.getLogger().handlers.clear()
    assert status == relay_main.EXIT_CONFIGURATION
    out = capsys.readouterr()
    [line] = [json.loads(text) for text in out.err.splitlines()]
    assert line["level"] == "ERROR"
    assert "$ECMPUSH_WEBHOOK_SECRET" in line["message"]
    assert out.out == ""


def test_json_lines_carry_the_records_extras() -> None:
    record = logging.makeLogRecord(
        {"msg": "poll", "levelname": "INFO", "name": "ecmpush.relay", "report": {"sent": 2}}
    )
    line = json.loads(relay_main.JsonLines().format(record))
    assert (line["message"], line["report"], line["level"]) == ("poll", {"sent": 2}, "INFO")
