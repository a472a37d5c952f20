"""Scheduled relay poll (EventBridge Scheduler, `RelaySchedule`; only with EnableRelay=true):
reads Content Server's running workflows and hands what changed to the webhook intake, as the
standalone relay would post it (senders/relay/function.py: why in-process)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from ecmpush import bootstrap
from ecmpush.entrypoints.observability import logger, metrics, tracer
from ecmpush.entrypoints.scheduled import report_run, scheduled_time

COUNTS = ("workflows", "sent", "refused", "pending")


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # The relay's modules load requests and the Content Server client: a first run's cost, as
    # every handler's first call (tests/integration/test_layer.py), not the init's.
    from senders.relay.function import RelayPoll

    now = scheduled_time(event)
    stack = bootstrap.build_relay_poll()
    stack.idempotency.register_lambda_context(context)
    # Content Server as it is now, however late the run: the scheduled time only names it.
    report = RelayPoll.of(stack).run()
    counts = {name.capitalize(): getattr(report, name) for name in COUNTS}
    complete = report.pending == 0 and not report.unreadable
    result = report_run("RelayPoll", now, counts, complete, asdict(report))
    if not complete:
        logger.warning("relay poll: events left for the next run", extra=result)
    return result
