"""`python -m devstack status`: the operations dashboard's figures for the running local stack.

The CloudWatch dashboard (template.yaml `OperationsDashboard`) reads Powertools metrics, SQS and
API Gateway metrics; none of those exist locally (metrics are switched off, moto has no
CloudWatch data), so the same figures are read from their sources here: delivery records in
DeliveriesTable (pushes sent / failed / pruned), the queues themselves (depth, in flight, age
of the oldest message — for WriteBackQueue that is the write-back lag), each sweep's last result,
and the answers the API router gave to `POST /ecm/events` (webhook 4xx / 5xx)."""

from __future__ import annotations

import time
from collections import Counter
from typing import Any, cast

import boto3
from boto3.dynamodb.conditions import Attr

from devstack import template as cfn
from devstack.resources import ACCOUNT, REGION, Provisioned

DELIVERY_FIGURES = {"sent": "sent", "failed": "failed", "token_removed": "pruned"}


def delivery_counts(table_name: str) -> dict[str, int]:
    """Delivery records by status (local only: a Scan, which the deployed code never does)."""
    table = boto3.resource("dynamodb", region_name=REGION).Table(table_name)
    counts: Counter[str] = Counter()
    kwargs: dict[str, Any] = {"FilterExpression": Attr("sk").begins_with("d#")}
    while True:
        page = table.scan(**kwargs)
        counts.update(str(item.get("status")) for item in page["Items"])
        if "LastEvaluatedKey" not in page:
            break
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    return {figure: counts.get(status, 0) for status, figure in DELIVERY_FIGURES.items()}


def queue_figures(queue_names: list[str]) -> dict[str, dict[str, int | None]]:
    """Depth, in-flight count and age of the oldest message (s) of each queue, from moto's
    in-process backend: SQS itself reports the age only as a CloudWatch metric."""
    from moto.sqs.models import sqs_backends

    backend = sqs_backends[ACCOUNT][REGION]
    now_ms = int(time.time() * 1000)
    figures: dict[str, dict[str, int | None]] = {}
    for name in queue_names:
        queue = backend.queues[name]
        sent = [cast(int, m.sent_timestamp) for m in queue._messages if m.sent_timestamp]
        figures[name] = {
            "visible": queue.approximate_number_of_messages,
            "in_flight": queue.approximate_number_of_messages_not_visible,
            "oldest_age_s": (now_ms - min(sent)) // 1000 if sent else None,
        }
    return figures


def collect(
    template: dict[str, Any],
    provisioned: Provisioned,
    api_answers: Counter[tuple[str, int]],
    last_runs: dict[str, Any],
) -> dict[str, Any]:
    queues = sorted(cfn.resources(template, "AWS::SQS::Queue"))
    webhook = {
        klass: sum(
            n
            for (path, status), n in api_answers.items()
            if path == "/ecm/events" and status // 100 == k
        )
        for klass, k in (("2xx", 2), ("4xx", 4), ("5xx", 5))
    }
    queue_state = queue_figures(queues)
    return {
        "pushes": delivery_counts(provisioned.refs["DeliveriesTable"]),
        "queues": queue_state,
        "write_back_lag_s": queue_state["WriteBackQueue"]["oldest_age_s"],
        "sweeps": last_runs,
        "webhook": webhook,
    }


def render(figures: dict[str, Any]) -> str:
    pushes = figures["pushes"]
    lines = [
        "── ecmpush status (the dashboard's figures, local) ─────────────────",
        f"pushes        sent {pushes['sent']}   failed {pushes['failed']}"
        f"   pruned {pushes['pruned']}",
        f"webhook       2xx {figures['webhook']['2xx']}   4xx {figures['webhook']['4xx']}"
        f"   5xx {figures['webhook']['5xx']}",
        f"write-back    lag {_age(figures['write_back_lag_s'])}",
        "queues        name                          visible  in flight  oldest",
    ]
    for name, queue in figures["queues"].items():
        lines.append(
            f"              {name:<30}{queue['visible']:>7}  {queue['in_flight']:>9}  "
            f"{_age(queue['oldest_age_s'])}"
        )
    lines.append("sweeps        name                          last run")
    for name in ("ExpirySweepFunction", "SlaSweepFunction", "DevicePruneFunction"):
        run = figures["sweeps"].get(name)
        summary = "not run yet" if run is None else _sweep_summary(run)
        lines.append(f"              {name:<30}{summary}")
    return "\n".join(lines)


def _sweep_summary(run: dict[str, Any]) -> str:
    counts = ", ".join(
        f"{k} {v}" for k, v in run.get("result", {}).items() if isinstance(v, int | bool)
    )
    return f"{run.get('at', '?')}  {counts}"


def _age(seconds: int | None) -> str:
    return "-" if seconds is None else f"{seconds} s"
