"""What an ECM-side sender does (a workflow event script, a WebReport, an agent): sign a JSON
body with the webhook secret and POST it. Used by the demo, the CLI and the end-to-end tests."""

from __future__ import annotations

import json
import time
from typing import Any

import requests

from ecmpush.domain.webhook_signature import sign


def post_event(
    api_url: str, secret: str, event: dict[str, Any], timeout: float = 10
) -> requests.Response:
    body = json.dumps(event, separators=(",", ":")).encode()
    return requests.post(
        f"{api_url}/ecm/events",
        data=body,
        headers={
            "Content-Type": "application/json",
            "X-Ecmpush-Signature": sign(secret.encode(), int(time.time()), body),
        },
        timeout=timeout,
    )
