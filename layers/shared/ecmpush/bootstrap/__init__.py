"""Composition root: one `build_<flow>(settings, **overrides)` per function, cached for the warm
container when called without arguments; tests pass fakes as overrides. Nothing is built at
import time and adapters are imported inside the builders (a handler's init loads neither boto3
nor firebase-admin). `reset()` forgets everything built (tests, a SnapStart restore)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ecmpush.bootstrap.approver import build_approver
from ecmpush.bootstrap.auth import build_id_token_verifier
from ecmpush.bootstrap.cache import cached, forget_all
from ecmpush.bootstrap.devices import build_devices
from ecmpush.bootstrap.dispatch import build_dispatch
from ecmpush.bootstrap.intake import build_intake
from ecmpush.bootstrap.parts import build_secret_store
from ecmpush.bootstrap.relay import build_relay_poll
from ecmpush.bootstrap.replies import build_response_callback, build_write_back
from ecmpush.bootstrap.sign_in import build_sign_in
from ecmpush.bootstrap.sweeps import build_device_prune, build_expiry_sweep, build_sla_sweep
from ecmpush.settings import settings

if TYPE_CHECKING:
    from mypy_boto3_sqs.client import SQSClient


@cached
def build_sqs_client() -> SQSClient:
    """boto3 on first use: only a message that is held back needs this client."""
    import boto3

    return boto3.client("sqs")


def hold_back_message(queue_url: str, receipt_handle: str, seconds: float) -> None:
    """Keep a received SQS message invisible for `seconds` (a Retry-After, a backoff) instead of
    the queue's fixed visibility timeout."""
    from ecmpush.adapters.sqs_visibility import delay_message

    delay_message(build_sqs_client(), queue_url, receipt_handle, seconds)


def reset() -> None:
    """Forget every built object and the settings (tests and the local stack after changing the
    environment, a SnapStart restore)."""
    forget_all()
    settings.cache_clear()


__all__ = [
    "build_approver",
    "build_device_prune",
    "build_devices",
    "build_dispatch",
    "build_expiry_sweep",
    "build_id_token_verifier",
    "build_intake",
    "build_relay_poll",
    "build_response_callback",
    "build_secret_store",
    "build_sign_in",
    "build_sla_sweep",
    "build_sqs_client",
    "build_write_back",
    "hold_back_message",
    "reset",
]
