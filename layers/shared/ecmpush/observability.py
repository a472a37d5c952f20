"""Logger, Tracer and Metrics for every handler, configured from the POWERTOOLS_* environment.

Not every invocation emits a metric (a 401 on the device API has none to emit); Powertools warns
on each such flush, which only adds noise to the function logs, so that one warning is muted."""

from __future__ import annotations

import warnings

from aws_lambda_powertools import Logger, Metrics, Tracer

warnings.filterwarnings("ignore", message="No application metrics to publish", category=UserWarning)

logger = Logger()
tracer = Tracer()
metrics = Metrics()
