"""`python -m devstack run|token|post|sweep|status|timeline`: the local stack's command line."""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from devstack.stack import DEFAULT_STATE_DIR, Stack, StackConfig


def _run(args: argparse.Namespace) -> int:
    config = StackConfig.from_env(Path(args.state_dir))
    if args.relay:
        config = replace(config, relay=True)
    stack = Stack(config).start()
    from devstack.demo import print_howto, run_demo

    ok = True
    try:
        if not args.no_demo:
            ok = run_demo(stack)
        print_howto(stack)
        if args.exit_after_demo:
            return 0 if ok else 1
        _wait_for_stop_signal()
        return 0
    finally:
        stack.stop()


def _wait_for_stop_signal(on_ready: Callable[[], object] | None = None) -> None:
    """Block until SIGINT or SIGTERM, taking no lock in the handler.

    `Event.set()` from a handler takes the Event's lock, which the main thread may hold inside
    `Event.wait()`: a second signal could deadlock the stack with its ports still bound. Here
    the C-level handler only writes the signal number to a self-pipe (`set_wakeup_fd`), the
    Python-level handler does nothing, and the main thread blocks in `os.read` on the pipe.
    The no-op handlers stay installed, so further signals cannot interrupt the shutdown that
    follows (which releases the stack's ports); SIGKILL remains for a stuck one."""
    read_fd, write_fd = os.pipe()
    os.set_blocking(write_fd, False)
    previous_fd = signal.set_wakeup_fd(write_fd, warn_on_full_buffer=False)
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: None)
    if on_ready is not None:
        on_ready()
    try:
        while True:
            received = os.read(read_fd, 64)
            if any(b in (signal.SIGINT, signal.SIGTERM) for b in received):
                return
    finally:
        signal.set_wakeup_fd(previous_fd)
        os.close(read_fd)
        os.close(write_fd)


def _token(args: argparse.Namespace) -> int:
    from devstack.identity import LocalIdentity

    identity = LocalIdentity.load_or_create(Path(args.state_dir))
    print(
        identity.mint_id_token(
            args.ecm_user or None, external_id=args.external, expires_in=args.expires_in
        )
    )
    return 0


def _post(args: argparse.Namespace) -> int:
    from senders.relay.webhook import post_event

    state_dir = Path(args.state_dir)
    urls = json.loads((state_dir / "stack.json").read_text())["urls"]
    secret = (state_dir / "webhook_secret").read_text().strip()
    api_key = (state_dir / "webhook_api_key").read_text().strip()
    event = json.loads(Path(args.file).read_text())
    if "body" in event and "httpMethod" in event:  # an API Gateway sample event: post its body
        event = json.loads(event["body"])
    response = post_event(urls["api"], secret, event, api_key=api_key)
    print(response.status_code, response.text)
    return 0 if response.ok else 1


def _sweep(args: argparse.Namespace) -> int:
    import requests

    urls = json.loads((Path(args.state_dir) / "stack.json").read_text())["urls"]
    body = {"at": args.at} if args.at else {}
    response = requests.post(f"{urls['api']}/_devstack/sweeps/{args.name}", json=body, timeout=330)
    print(response.status_code, response.text)
    return 0 if response.ok else 1


def _status(args: argparse.Namespace) -> int:
    import requests

    from devstack.status import render

    urls = json.loads((Path(args.state_dir) / "stack.json").read_text())["urls"]
    response = requests.get(f"{urls['api']}/_devstack/status", timeout=30)
    response.raise_for_status()
    print(json.dumps(response.json(), indent=2) if args.json else render(response.json()))
    return 0


def _timeline(args: argparse.Namespace) -> int:
    import requests

    from ecmpush_ops.timeline import Entry, render

    urls = json.loads((Path(args.state_dir) / "stack.json").read_text())["urls"]
    response = requests.get(f"{urls['api']}/_devstack/timeline/{args.notification_id}", timeout=30)
    response.raise_for_status()
    entries = response.json()
    print(json.dumps(entries, indent=2) if args.json else render(Entry(**e) for e in entries))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devstack")
    parser.add_argument("--state-dir", default=str(DEFAULT_STATE_DIR))
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="start the local stack, replay the demo, serve")
    run.add_argument("--no-demo", action="store_true")
    run.add_argument("--exit-after-demo", action="store_true")
    run.add_argument(
        "--relay", action="store_true", help="EnableRelay: RelayPollFunction polls the ECM stand-in"
    )
    token = commands.add_parser("token", help="mint a local Firebase ID token")
    token.add_argument("ecm_user", nargs="?", default="")
    token.add_argument("--external", default=None, help="external stakeholder id claim")
    token.add_argument("--expires-in", type=int, default=3600)
    post = commands.add_parser("post", help="sign and POST an event JSON file to the running stack")
    post.add_argument("file")
    sweep = commands.add_parser("sweep", help="run a scheduled sweep in the running stack now")
    sweep.add_argument("name", choices=["expiry", "sla", "devices", "relay"])
    sweep.add_argument("--at", default=None, help="as of this RFC 3339 time (local clock override)")
    status = commands.add_parser("status", help="the operations dashboard's figures, locally")
    status.add_argument("--json", action="store_true")
    timeline = commands.add_parser("timeline", help="a notification's evidence timeline, locally")
    timeline.add_argument("notification_id")
    timeline.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s %(message)s")
    commands_by_name = {
        "run": _run,
        "token": _token,
        "post": _post,
        "sweep": _sweep,
        "status": _status,
        "timeline": _timeline,
    }
    return commands_by_name[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
