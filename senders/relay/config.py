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


def load(path: Path, environ: Mapping[str, str] = os.environ) -> RelayConfig:
    raw = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(raw, Mapping):
        raise RelayConfigError("the relay configuration must be a JSON object")
    unknown = sorted(set(raw) - _KEYS)
    if unknown:
        raise RelayConfigError(f"unknown keys {unknown}")
    for key in ("webhook_url", "tenant", "ecm_base_url", "ecm_secret_file", "state_file"):
        if not isinstance(raw.get(key), str) or not raw[key]:
            raise RelayConfigError(f"{key} is required")
    secret_env = raw.get("webhook_secret_env", "ECMPUSH_WEBHOOK_SECRET")
    secret = environ.get(secret_env, "")
    if not secret:
        raise RelayConfigError(f"the webhook secret is read from ${secret_env}, which is empty")
    maps = raw.get("maps", {})
    if not isinstance(maps, Mapping) or not all(str(k).isdigit() for k in maps):
        raise RelayConfigError("maps must be an object keyed by workflow map ids")
    default_stage = raw.get("default_stage", "task")
    if default_stage not in STAGES:
        raise RelayConfigError(f"default_stage must be one of {sorted(STAGES)}")
    token_env = raw.get("forward_token_env")
    key_env = raw.get("webhook_api_key_env")
    api_key = environ.get(key_env, "") if key_env else None
    if key_env and not api_key:
        raise RelayConfigError(f"the webhook API key is read from ${key_env}, which is empty")
    return RelayConfig(
        webhook_url=raw["webhook_url"],
        webhook_secret=secret,
        tenant=raw["tenant"],
        ecm_base_url=raw["ecm_base_url"],
        ecm_secret=json.loads(Path(raw["ecm_secret_file"]).read_text(encoding="utf-8")),
        state_file=Path(raw["state_file"]),
        maps={int(k): _rule(v, f"maps.{k}") for k, v in maps.items()},
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
