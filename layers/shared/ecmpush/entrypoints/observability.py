"""Logger, Tracer and Metrics for every handler, configured from the POWERTOOLS_* environment.
Why: docs/design/observability.md."""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar, cast

from aws_lambda_powertools import Logger, Metrics

if TYPE_CHECKING:
    from aws_lambda_powertools import Tracer

F = TypeVar("F", bound=Callable[..., Any])

warnings.filterwarnings("ignore", message="No application metrics to publish", category=UserWarning)

for noisy in ("boto3", "botocore", "urllib3", "s3transfer", "google", "firebase_admin"):
    logging.getLogger(noisy).setLevel(logging.WARNING)


def tracing_mode() -> str:
    """`sdk`, `lambda` or `off`; anything unknown counts as `lambda` (no SDK in the function)."""
    mode = os.environ.get("ECMPUSH_TRACING", "lambda").strip().lower()
    return mode if mode in ("off", "lambda", "sdk") else "lambda"


class _Untraced:
    """The two Tracer decorators ecmpush uses, as no-ops: no aws_xray_sdk import, no wrapper."""

    def capture_lambda_handler(self, lambda_handler: F) -> F:
        return lambda_handler

    def capture_method(self, method: F) -> F:
        return method


def _tracer() -> Tracer:
    if tracing_mode() == "sdk":
        from aws_lambda_powertools import Tracer

        return Tracer()
    return cast("Tracer", _Untraced())


logger = Logger()
tracer = _tracer()
metrics = Metrics()
