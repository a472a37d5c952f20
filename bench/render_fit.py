"""render_fit: CPU per push of `ecmpush.domain.delivery.render.render_push` (template text + the
4 KiB fit), for a typical task notification and for oversized ones whose 3-4 KB of instructions must
be cut, next to what the FCM adapter spends on the same push before any network I/O
(`fcm_sender.to_message` + the SDK's `encode_message`).

Fitting costs one JSON encoding of the wire estimate when the push already fits, and a binary
search over the body length (one encoding per step) when it does not: the benchmark counts the
encodings by wrapping `render.payload_size` for one extra call per case (never while timing).
Inputs come from the sample event routed by the product's own code (bench/_fixtures.py); each
case is timed in repetitions of many calls and reported as the median µs per push."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from bench import _fixtures
from bench._common import Json, Row, Spec, ratio, stats
from ecmpush.adapters.fcm_sender import to_message
from ecmpush.domain.delivery import render
from ecmpush.domain.delivery.devices import Device
from ecmpush.domain.delivery.notifications import Notification
from ecmpush.domain.delivery.templates import render as render_text

NAME = "render_fit"
# name → (instructions length in characters or None for the sample's own, multibyte text)
CASES: dict[str, tuple[int | None, bool]] = {
    "typical": (None, False),
    "oversized_3k": (3000, False),
    "oversized_4k": (3990, False),
    "oversized_4k_multibyte": (3990, True),
}
REPETITIONS = 7
TARGET_REP_SECONDS = 0.05


def _per_call(function: Callable[[], Any], reps: int, quick: bool) -> list[float]:
    """Seconds per call, one figure per repetition; calls per repetition are calibrated so a
    repetition lasts about TARGET_REP_SECONDS (a timer's resolution is then irrelevant)."""
    started = time.perf_counter()
    function()
    once = max(time.perf_counter() - started, 1e-7)
    calls = 10 if quick else max(10, int(TARGET_REP_SECONDS / once))
    samples = []
    for _ in range(reps):
        started = time.perf_counter()
        for _ in range(calls):
            function()
        samples.append((time.perf_counter() - started) / calls)
    return samples


def _count_encodings(notification: Notification, device: Device, token: str | None) -> int:
    calls = 0
    original = render.payload_size

    def counting(push: Any) -> int:
        nonlocal calls
        calls += 1
        return original(push)

    render.payload_size = counting  # render.fit looks the name up in its module at call time
    try:
        render.render_push(notification, device, token)
    finally:
        render.payload_size = original
    return calls


def run(quick: bool) -> Json:
    from firebase_admin import messaging

    reps = 1 if quick else REPETITIONS
    device = _fixtures.device(1)
    cases: Json = {}
    for name, (length, multibyte) in CASES.items():
        text = None if length is None else _fixtures.instructions(length, multibyte)
        notification = _fixtures.notification_for(_fixtures.task_event(instructions_text=text))
        token = _fixtures.action_token(notification)
        push = render.render_push(notification, device, token)
        _, unfitted_body = render_text(
            notification.template, notification.params, device.locale, device.timezone
        )
        encode = messaging._MessagingService.encode_message

        def do_render(n: Notification = notification, t: str | None = token) -> object:
            return render.render_push(n, device, t)

        def do_payload_size(p: Any = push) -> object:
            return render.payload_size(p)

        def do_adapter(p: Any = push, encode: Callable[[Any], Any] = encode) -> object:
            return encode(to_message(p))

        render_s = stats(_per_call(do_render, reps, quick), 9)
        size_s = stats(_per_call(do_payload_size, reps, quick), 9)
        adapter_s = stats(_per_call(do_adapter, reps, quick), 9)
        instructions_text = notification.params.get("instructions", "")
        cases[name] = {
            "instructions_chars": len(instructions_text),
            "instructions_bytes": len(instructions_text.encode()),
            "body_chars_before_fit": len(unfitted_body),
            "body_chars_after_fit": len(push.body),
            "body_was_cut": push.body != unfitted_body,
            "payload_bytes_after_fit": render.payload_size(push),
            "payload_encodings_per_render": _count_encodings(notification, device, token),
            "render_push_us": {k: _us(v) for k, v in render_s.items()},
            "payload_size_us": {k: _us(v) for k, v in size_s.items()},
            "adapter_to_message_encode_us": {k: _us(v) for k, v in adapter_s.items()},
        }
    typical = cases["typical"]["render_push_us"]["median"]
    for entry in cases.values():
        entry["render_vs_typical"] = ratio(entry["render_push_us"]["median"], typical)
    return {
        "parameters": {"repetitions": reps, "rep_seconds": TARGET_REP_SECONDS},
        "cases": cases,
    }


def _us(value: float | int) -> float | int:
    """Seconds → µs, leaving the repetition count alone."""
    return value if isinstance(value, int) else round(value * 1e6, 2)


def headline(result: Json) -> list[Row]:
    rows: list[Row] = []
    for name, entry in result["cases"].items():
        rows.append(
            (
                f"{name} ({entry['instructions_chars']} chars)",
                f"render_push {entry['render_push_us']['median']:.0f} µs "
                f"({entry['payload_encodings_per_render']} x payload_size), adapter "
                f"{entry['adapter_to_message_encode_us']['median']:.0f} µs",
            )
        )
    return rows


SPEC = Spec(NAME, "render_push + 4 KiB fitting cost per push, typical vs oversized", run, headline)
