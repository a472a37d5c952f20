"""`python -m senders.relay poll --config relay.json [--every SECONDS]` or
`python -m senders.relay forward --config relay.json [--listen 127.0.0.1:8787]` (serves
`POST /steps`, the announce endpoint, and `POST /events`, the raw forward of the event types
`forward_event_types` lists; threaded, with a per-connection timeout: `server.py`)."""

from __future__ import annotations

import argparse
import json
import logging
import time
from dataclasses import asdict
from pathlib import Path

from senders.relay import config as relay_config
from senders.relay.forward import forward_app
from senders.relay.poller import poll
from senders.relay.server import RelayServer
from senders.relay.webhook import deliver


def _poll(args: argparse.Namespace) -> int:
    config = relay_config.load(Path(args.config))
    client = relay_config.ecm_client(config)
    while True:
        report = poll(
            config,
            client,
            lambda events: deliver(
                config.webhook_url, config.webhook_secret, events, api_key=config.webhook_api_key
            ),
        )
        print(json.dumps(asdict(report)), flush=True)
        if not args.every:
            return 0 if report.pending == 0 and not report.unreadable else 1
        time.sleep(args.every)


def _forward(args: argparse.Namespace) -> int:
    config = relay_config.load(Path(args.config))
    host, _, port = args.listen.rpartition(":")
    with RelayServer(host, int(port), forward_app(config)) as server:
        base = f"http://{host}:{server.server_port}"
        types = ", ".join(sorted(config.forward_event_types)) or "none (forward_event_types)"
        print(f"announcing {base}/steps; {base}/events forwards: {types}", flush=True)
        server.serve_forever()
    return 0


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    parser = argparse.ArgumentParser(prog="python -m senders.relay")
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
    return int(args.run(args))


if __name__ == "__main__":
    raise SystemExit(main())
