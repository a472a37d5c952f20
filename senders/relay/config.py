"""The relay's configuration: one JSON file, secrets referenced, never inlined.

```json
{
  "webhook_url": "https://abc.execute-api.eu-central-1.amazonaws.com/prod",
  "webhook_secret_env": "ECMPUSH_WEBHOOK_SECRET",
  "webhook_api_key_env": "ECMPUSH_WEBHOOK_API_KEY",
  "tenant": "acme",
  "ecm_base_url": "https://otcs.example.com/otcs/cs.exe",
  "ecm_secret_file": "/etc/ecmpush/ecm-secret.json",
  "state_file": "/var/lib/ecmpush-relay/state.json",
  "maps": {"30000": {"stage": "approval", "supervisor": "bjones", "priority": "high"}},
  "default_stage": "task",
  "app_base_url": "https://ecm.example.com/otcs/cs.exe",
  "forward_token_env": "ECMPUSH_RELAY_TOKEN",
  "forward_event_types": []
}
```

`maps` lists the workflow maps to watch (by map object id) and what their steps are to ecmpush
(stage, supervisor/backup for the SLA ladder, priority); an empty `maps` watches every running
workflow the service account manages, as `default_stage`. `webhook_api_key_env` names the
variable holding the API key API Gateway requires on /ecm/events (stack output
`WebhookApiKeyId`, docs/deploy.md); the relay sends it as `x-api-key`.

Relative paths (`ecm_secret_file`, `state_file`) are read from the configuration file's own
directory, so the relay runs the same from any working directory (a systemd unit, a container).
Every mistake is a `RelayConfigError` naming the key and what is wrong, never a value of a
secret (`ecmpush-relay` prints it and exits 2; docs/relay.md lists them).

`forward_event_types` is the administrator's allow-list for the listener's raw forward
(`POST /events`): the event types it may sign as given, e.g. `["document.available"]`. Empty
(the default), `/events` signs nothing and answers 403: workflow steps come in through
`POST /steps`, read back from Content Server. The workflow types (`task.assigned`,
`task.completed`) cannot be listed: an event may not say who holds a step or that it is done.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ecmpush.adapters.ecm.client import EcmClient
from ecmpush.adapters.ecm.config import EcmConfig
from ecmpush.domain.intake.events import EVENT_TYPES

STAGES = frozenset({"approval", "review", "task"})
PRIORITIES = frozenset({"low", "normal", "high"})
_KEYS = frozenset(
    {
        "webhook_url",
        "webhook_secret_env",
        "webhook_api_key_env",
        "tenant",
        "ecm_base_url",
        "ecm_secret_file",
        "state_file",
        "maps",
        "default_stage",
        "app_base_url",
        "forward_token_env",
        "forward_event_types",
    }
)
# Said by Content Server only (the poll and `POST /steps` read them back), never by a script's JSON.
STEP_EVENT_TYPES = frozenset({"task.assigned", "task.completed"})


class RelayConfigError(ValueError):
    pass


@dataclass(frozen=True)
class MapRule:
    """What the steps of one workflow map are to ecmpush."""

    stage: str = "task"
    supervisor: str | None = None
    backup: str | None = None
    priority: str = "normal"


@dataclass(frozen=True)
class RelayConfig:
    webhook_url: str
    webhook_secret: str = field(repr=False)
    tenant: str
    ecm_base_url: str
    ecm_secret: Mapping[str, Any] = field(repr=False)
    state_file: Path
    maps: Mapping[int, MapRule]
    default_stage: str = "task"
    app_base_url: str | None = None
    forward_token: str | None = field(default=None, repr=False)
    webhook_api_key: str | None = field(default=None, repr=False)
    forward_event_types: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        _check_forward_event_types(self.forward_event_types)

    def rule(self, map_id: int | None) -> MapRule:
        if map_id is not None and map_id in self.maps:
            return self.maps[map_id]
        return MapRule(stage=self.default_stage)


def _rule(raw: Any, where: str) -> MapRule:
    if not isinstance(raw, Mapping):
        raise RelayConfigError(f"{where} must be an object")
    unknown = sorted(set(raw) - {"stage", "supervisor", "backup", "priority"})
    if unknown:
        raise RelayConfigError(f"{where}: unknown keys {unknown}")
    rule = MapRule(**raw)
    if rule.stage not in STAGES or rule.priority not in PRIORITIES:
        raise RelayConfigError(
            f"{where}: stage must be one of {sorted(STAGES)}, priority one of {sorted(PRIORITIES)}"
        )
    return rule


def _check_forward_event_types(types: frozenset[str]) -> None:
    """The allow-list of `/events` names known event types other than the workflow step's
    (checked however the configuration is built, so no caller can switch `task.*` on)."""
    steps = sorted(types & STEP_EVENT_TYPES)
    if steps:
        raise RelayConfigError(
            f"forward_event_types: {steps} come in through POST /steps (read from Content Server)"
        )
    unknown = sorted(types - set(EVENT_TYPES))
    if unknown:
        raise RelayConfigError(f"forward_event_types: unknown event types {unknown}")


def _forward_event_types(raw: Any) -> frozenset[str]:
    """`forward_event_types` as written: a list of event type names (nothing by default)."""
    if not isinstance(raw, list) or not all(isinstance(t, str) for t in raw):
        raise RelayConfigError("forward_event_types must be a list of event types")
    return frozenset(raw)


def _read_json(path: Path, what: str) -> Any:
    """A JSON file the relay needs, or a `RelayConfigError` that says which and why."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RelayConfigError(f"{what} {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8"
        raise RelayConfigError(f"{what} {path} cannot be read: {reason}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise RelayConfigError(
            f"{what} {path} is not JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
        ) from None


def _beside(config_path: Path, value: str) -> Path:
    """A path from the configuration: absolute as written, else beside the configuration."""
    path = Path(value).expanduser()
    return path if path.is_absolute() else (config_path.parent / path).resolve()


def _ecm_secret(path: Path, base_url: str) -> Mapping[str, Any]:
    secret = _read_json(path, "ecm_secret_file")
    if not isinstance(secret, Mapping):
        raise RelayConfigError(f"ecm_secret_file {path} must hold a JSON object")
    try:
        EcmConfig.from_secret(secret, base_url=base_url)
    except (ValueError, TypeError) as exc:
        raise RelayConfigError(f"ecm_secret_file {path}: {exc}") from None
    return secret


def _from_environment(environ: Mapping[str, str], variable: Any, what: str, key: str) -> str:
    if not isinstance(variable, str) or not variable:
        raise RelayConfigError(f"{key} must name an environment variable")
    value = environ.get(variable, "")
    if not value:
        raise RelayConfigError(
            f"{what} is read from ${variable} ({key}), which is not set or empty"
        )
    return value


def map_rules(maps: Any, default_stage: Any = "task") -> tuple[dict[int, MapRule], str]:
    """`maps` and `default_stage` as written (the file's, or the function's parameters)."""
    if not isinstance(maps, Mapping) or not all(str(k).isdigit() for k in maps):
        raise RelayConfigError("maps must be an object keyed by workflow map ids")
    if default_stage not in STAGES:
        raise RelayConfigError(f"default_stage must be one of {sorted(STAGES)}")
    try:
        rules = {int(k): _rule(v, f"maps.{k}") for k, v in maps.items()}
    except TypeError as exc:
        raise RelayConfigError(f"maps: {exc}") from None
    return rules, str(default_stage)


def load(path: Path, environ: Mapping[str, str] = os.environ) -> RelayConfig:
    path = path.expanduser().absolute()
    raw = _read_json(path, "the relay configuration")
    if not isinstance(raw, Mapping):
        raise RelayConfigError("the relay configuration must be a JSON object")
    unknown = sorted(set(raw) - _KEYS)
    if unknown:
        raise RelayConfigError(f"unknown keys {unknown}")
    for key in ("webhook_url", "tenant", "ecm_base_url", "ecm_secret_file", "state_file"):
        if not isinstance(raw.get(key), str) or not raw[key]:
            raise RelayConfigError(f"{key} is required")
    for key in ("webhook_url", "ecm_base_url"):
        if not raw[key].startswith(("https://", "http://")):
            raise RelayConfigError(f"{key} must be an http(s) URL")
    secret = _from_environment(
        environ,
        raw.get("webhook_secret_env", "ECMPUSH_WEBHOOK_SECRET"),
        "the webhook secret",
        "webhook_secret_env",
    )
    maps, default_stage = map_rules(raw.get("maps", {}), raw.get("default_stage", "task"))
    token_env = raw.get("forward_token_env")
    key_env = raw.get("webhook_api_key_env")
    api_key = (
        _from_environment(environ, key_env, "the webhook API key", "webhook_api_key_env")
        if key_env is not None
        else None
    )
    return RelayConfig(
        webhook_url=raw["webhook_url"],
        webhook_secret=secret,
        tenant=raw["tenant"],
        ecm_base_url=raw["ecm_base_url"],
        ecm_secret=_ecm_secret(_beside(path, raw["ecm_secret_file"]), raw["ecm_base_url"]),
        state_file=_beside(path, raw["state_file"]),
        maps=maps,
        default_stage=default_stage,
        app_base_url=raw.get("app_base_url"),
        forward_token=environ.get(token_env) if token_env else None,
        webhook_api_key=api_key,
        forward_event_types=_forward_event_types(raw.get("forward_event_types", [])),
    )


def ecm_client(config: RelayConfig) -> EcmClient:
    """The relay's Content Server client (its own service account, `ecm_secret_file`), for
    `poll` and the announce endpoint alike."""
    return EcmClient(EcmConfig.from_secret(config.ecm_secret, base_url=config.ecm_base_url))
