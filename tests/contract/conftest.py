"""Which Content Server the contract suite speaks to: a real one when `ECMPUSH_OTCS_URL` is set,
else the devstack stand-in, so the same checks run in CI and on a customer's server.

For a real server (docs/ecm.md, "Checking your Content Server"):
- `ECMPUSH_OTCS_URL`     the CGI root the REST API hangs off (`https://host/otcs/cs.exe`)
- `ECMPUSH_OTCS_SECRET`  path to a JSON file shaped like the `EcmCredentialsSecret` secret
- `ECMPUSH_OTCS_TASKS`   path to a JSON file naming one open test step per reply action,
  `{"approve": {"process_id": .., "subprocess_id": .., "task_id": .., "assignee": "login"}, ...}`
  (keys approve, reject, acknowledge, request_info; each step is sent on: use a test workflow)
- `ECMPUSH_OTCS_SEARCH`  optional: the expiry search configuration (as `ECMPUSH_EXPIRY_SEARCH`)
  whose query should find at least one record
- `ECMPUSH_OTCS_GROUP`   optional: the id of a group with users (ideally more than 100, and a
  member group), as a team kept as a Content Server group would name it
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from devstack.ecm_standin import create_ecm_standin
from devstack.http_server import BackgroundServer
from devstack.stack import local_ecm_credentials
from ecmpush.adapters.ecm.client import EcmClient
from ecmpush.adapters.ecm.config import EcmConfig

# The stand-in's seeded steps, one per reply action (devstack/ecm_seed.json).
STANDIN_TASKS: dict[str, dict[str, Any]] = {
    "approve": {"process_id": 4711, "subprocess_id": 4711, "task_id": 1, "assignee": "asmith"},
    "reject": {"process_id": 4713, "subprocess_id": 4713, "task_id": 2, "assignee": "bjones"},
    "acknowledge": {"process_id": 4714, "subprocess_id": 4714, "task_id": 1, "assignee": "asmith"},
    "request_info": {"process_id": 4712, "subprocess_id": 4712, "task_id": 1, "assignee": "cwu"},
}
STANDIN_SEARCH = json.dumps(
    {
        "where": "Attr_30100_2:contract and Attr_30100_3:<={horizon}",
        "location_id": "30200",
        "date_attribute": "30100_3",
        "owner_attribute": "30100_5",
    }
)


STANDIN_GROUP = 20001  # "Field Operations": two users and a member group


@dataclass(frozen=True)
class Target:
    name: str  # "stand-in" or the real server's URL
    client: EcmClient
    tasks: dict[str, dict[str, Any]]
    search: str | None
    group: int | None = None  # a group whose members the routing could page


def _real() -> Target | None:
    url = os.environ.get("ECMPUSH_OTCS_URL")
    if not url:
        return None
    secret_path, tasks_path = (
        os.environ.get("ECMPUSH_OTCS_SECRET"),
        os.environ.get("ECMPUSH_OTCS_TASKS"),
    )
    if not secret_path or not tasks_path:
        pytest.fail("ECMPUSH_OTCS_URL needs ECMPUSH_OTCS_SECRET and ECMPUSH_OTCS_TASKS (files)")
    secret = json.loads(Path(secret_path).read_text(encoding="utf-8"))
    tasks = json.loads(Path(tasks_path).read_text(encoding="utf-8"))
    client = EcmClient(EcmConfig.from_secret(secret, base_url=url))
    group = os.environ.get("ECMPUSH_OTCS_GROUP")
    search = os.environ.get("ECMPUSH_OTCS_SEARCH") or None
    return Target(url, client, tasks, search, int(group) if group else None)


@pytest.fixture
def otcs() -> Iterator[Target]:
    """A fresh stand-in per test (each test sends steps on), or the configured real server."""
    real = _real()
    if real is not None:
        yield real
        return
    standin = create_ecm_standin()
    with BackgroundServer(standin) as server:
        secret = local_ecm_credentials(server.url)
        client = EcmClient(EcmConfig.from_secret(secret, base_url=server.url))
        yield Target("stand-in", client, STANDIN_TASKS, STANDIN_SEARCH, STANDIN_GROUP)
        client.close()
