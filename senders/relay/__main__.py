"""`ecmpush-relay poll --config relay.json [--every SECONDS]` or
`ecmpush-relay forward --config relay.json [--listen 127.0.0.1:8787]` (serves `POST /steps`,
the announce endpoint, and `POST /events`, the raw forward of the event types
`forward_event_types` lists; threaded, with a per-connection timeout: `server.py`).
`python -m senders.relay` is the same command.

Every failure an administrator can fix is one log line naming its cause, never a traceback:
a configuration mistake exits 2, the webhook refusing the relay (signature, API key) 3,
Content Server unreachable or refusing the service account 4 (a single poll; `--every` logs
and polls again). Logs are JSON lines on stderr (`--log-format text` for a terminal)."""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from ecmpush.domain.ecm.errors import EcmAuthError, EcmError
from senders.relay import config as relay_config
from senders.relay.forward import forward_app
from senders.relay.poller import poll
from senders.relay.server import RelayServer
from senders.relay.webhook import CONFIGURATION_FAILURES, deliver, failure_cause

log = logging.getLogger("ecmpush.relay")
EXIT_PENDING = 1
EXIT_CONFIGURATION = 2
EXIT_WEBHOOK_REFUSED = 3
EXIT_ECM = 4
_RECORD_FIELDS = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


class JsonLines(logging.Formatter):
    """One JSON object per line: time, level, logger, message and the record's extras."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        line.update({k: v for k, v in vars(record).items() if k not in _RECORD_FIELDS})
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


class _Webhook:
    """`deliver` to the configured webhook, logging the plain cause of each failed request
    once per poll and remembering whether the webhook refused the relay's credentials."""

    def __init__(self, config: relay_config.RelayConfig) -> None:
        self._config = config
        self.refused = False

    def __call__(self, events: Sequence[Mapping[str, Any]]) -> dict[str, str]:
        config = self._config
        outcome = deliver(
            config.webhook_url, config.webhook_secret, events, api_key=config.webhook_api_key
        )
        for status in sorted(set(outcome.values())):
            cause = failure_cause(status, config.webhook_url)
            if cause:
                log.error("events not delivered: %s", cause, extra={"status": status})
                self.refused |= status in CONFIGURATION_FAILURES
        return outcome


def _poll_once(config: relay_config.RelayConfig) -> int:
    webhook = _Webhook(config)
    try:
        report = poll(config, relay_config.ecm_client(config), webhook)
    except EcmAuthError as exc:
        log.error(
            "Content Server at %s refused the relay's service account (ecm_secret_file): %s",
            config.ecm_base_url,
            exc,
        )
        return EXIT_ECM
    except EcmError as exc:
        log.error("Content Server at %s cannot be read now: %s", config.ecm_base_url, exc)
        return EXIT_ECM
    log.info("poll", extra={"report": asdict(report)})
    if webhook.refused:
        return EXIT_WEBHOOK_REFUSED
    return 0 if report.pending == 0 and not report.unreadable else EXIT_PENDING


def _poll(args: argparse.Namespace) -> int:
    config = relay_config.load(Path(args.config))
    while True:
        status = _poll_once(config)
        if not args.every:
            return status
        time.sleep(args.every)


def _forward(args: argparse.Namespace) -> int:
    config = relay_config.load(Path(args.config))
    host, _, port = args.listen.rpartition(":")
    with RelayServer(host, int(port), forward_app(config)) as server:
        base = f"http://{host}:{server.server_port}"
        types = ", ".join(sorted(config.forward_event_types)) or "none (forward_event_types)"
        log.info("announcing %s/steps; %s/events forwards: %s", base, base, types)
        server.serve_forever()
    return 0


def _configure_logging(log_format: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    if log_format == "json":
        handler.setFormatter(JsonLines())
    else:
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=logging.INFO, handlers=[handler], force=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ecmpush-relay")
    parser.add_argument("--log-format", choices=["json", "text"], default="json")
    commands = parser.add_subparsers(dest="command", required=True)
    polling = commands.add_parser("poll", help="post events for what changed in Content Server")
    polling.add_argument("--config", required=True)
    polling.add_argument("--every", type=float, default=0, help="seconds between polls (0: once)")
    polling.set_defaults(run=_poll)
    forwarding = commands.add_parser("forward", help="announce steps, forward events (ECM scripts)")
    forwarding.add_argument("--config", required=True)
    forwarding.add_argument("--listen", default="127.0.0.1:8787")
    forwarding.set_defaults(run=_forward)
    args = parser.parse_args(argv)
    _configure_logging(args.log_format)
    try:
        return int(args.run(args))
    except relay_config.RelayConfigError as exc:
        log.error("configuration %s: %s", args.config, exc)
        return EXIT_CONFIGURATION
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    raise SystemExit(main())
