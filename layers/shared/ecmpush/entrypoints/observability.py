"""Logger, Tracer and Metrics for every handler, configured from the POWERTOOLS_* environment.

Tracing costs nothing unless it is asked for. `ECMPUSH_TRACING` (template parameter
`TracingMode`) chooses:
- `off` / `lambda` (default): `tracer` is a pass-through whose decorators return the function
  unchanged and aws-xray-sdk is never imported. Powertools' `Tracer()` imports it even when
  disabled and builds a recorder with botocore X-Ray clients at cold start (about a quarter of
  a handler's imports before issue 11, docs/benchmarks.md). With `lambda` the function still
  runs with `Tracing: Active`: Lambda itself records the request's init/invoke segments and the
  trace joins API Gateway's, without any SDK in the function.
- `sdk`: Powertools `Tracer` with the X-Ray SDK: subsegments for every boto3 / requests call
  and the handler's response and errors, for the price measured in docs/benchmarks.md.

Not every invocation emits a metric (a 401 on the device API has none to emit); Powertools warns
on each such flush, which only adds noise to the function logs, so that one warning is muted.

The AWS SDK and HTTP client loggers are held at WARNING whatever the function's log level: at
DEBUG (Lambda sets the root logger from ApplicationLogLevel) botocore logs every request and
response body — event payloads with personal data, and secret values — into CloudWatch."""

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
