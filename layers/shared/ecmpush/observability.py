"""Logger, Tracer and Metrics for every handler, configured from the POWERTOOLS_* environment.

Not every invocation emits a metric (a 401 on the device API has none to emit); Powertools warns
on each such flush, which only adds noise to the function logs, so that one warning is muted.

The AWS SDK and HTTP client loggers are held at WARNING whatever the function's log level: at
DEBUG (Lambda sets the root logger from ApplicationLogLevel) botocore logs every request and
response body — event payloads with personal data, and secret values — into CloudWatch."""

from __future__ import annotations

import logging
import warnings

from aws_lambda_powertools import Logger, Metrics, Tracer

warnings.filterwarnings("ignore", message="No application metrics to publish", category=UserWarning)

for noisy in ("boto3", "botocore", "urllib3", "s3transfer", "google", "firebase_admin"):
    logging.getLogger(noisy).setLevel(logging.WARNING)

logger = Logger()
tracer = Tracer()
metrics = Metrics()
