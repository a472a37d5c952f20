"""`python -m devstack status`: the operations dashboard's figures for the running local stack.

The CloudWatch dashboard (template.yaml `OperationsDashboard`) reads Powertools metrics, SQS and
API Gateway metrics; none of those exist locally (metrics are switched off, moto has no
CloudWatch data), so the same figures are read from their sources here: delivery records in
DeliveriesTable (pushes sent / failed / pruned), the queues themselves (depth, in flight, age
of the oldest message — for WriteBackQueue that is the write-back lag), each sweep's last result,
and the answers the API router gave to `POST /ecm/events` (webhook 4xx / 5xx). Process figures
(issue 23 item 6: time to open and to decision per flow and stage, p50/p90, the share of tasks
decided from a push, pushes withdrawn, not-seen reminders and escalations) come from
DeliveriesTable and TasksTable."""

from __future__ import annotations

import math
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any, cast

import boto3
from boto3.dynamodb.conditions import Attr

from devstack import template as cfn
from devstack.resources import ACCOUNT, REGION, Provisioned

DELIVERY_FIGURES = {"sent": "sent", "failed": "failed", "token_removed": "pruned"}


def _scan(table_name: str, **kwargs: Any) -> Iterator[dict[str, Any]]:
    table = boto3.resource("dynamodb", region_name=REGION).Table(table_name)
    while True:
        page = table.scan(**kwargs)
        yield from page["Items"]
        if "LastEvaluatedKey" not in page:
            return
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def percentile(values: list[float], share: float) -> float:
    """Nearest rank: the smallest value with at least `share` of the values at or below it."""
    ordered = sorted(values)
    return ordered[max(math.ceil(share * len(ordered)) - 1, 0)]


def _spread(samples: dict[str, list[float]]) -> dict[str, dict[str, float]]:
    return {
        key: {"p50": percentile(v, 0.5), "p90": percentile(v, 0.9), "n": len(v)}
        for key, v in sorted(samples.items())
    }


def _at(value: object) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def process_figures(
    deliveries: Iterable[dict[str, Any]], tasks: Iterable[dict[str, Any]]
) -> dict[str, Any]:
    """Time to open (the notification's send to the first `opened_at` on any of its deliveries)
    per flow and stage, time to decision (a task's first push to its reply applied through
    ecmpush) per flow and stage, the share of closed tasks decided from a push, deliveries
    withdrawn, and the not-seen steps in the tasks' SLA history."""
    task_items = list(tasks)
    stage_of = {str(t["task_key"]): str(t.get("stage", "task")) for t in task_items}
    headers: dict[str, dict[str, Any]] = {}
    first_open: dict[str, datetime] = {}
    withdrawn = 0
    for item in deliveries:
        nid, sk = str(item["notification_id"]), str(item["sk"])
        if sk == "#notification":
            headers[nid] = item
        elif sk.startswith("d#"):
            withdrawn += "withdrawn_at" in item
            opened = _at(item.get("opened_at"))
            if opened and (nid not in first_open or opened < first_open[nid]):
                first_open[nid] = opened
    to_open: dict[str, list[float]] = defaultdict(list)
    for nid, opened in first_open.items():
        header = headers.get(nid)
        sent = _at(header.get("created_at")) if header else None
        if header is None or sent is None:
            continue
        notification = header.get("notification") or {}
        task = notification.get("task") or {}
        key = "/".join(str(task.get(k, "")) for k in ("process_id", "subprocess_id", "task_id"))
        stage = stage_of.get(key) or str(notification.get("category", "-"))
        to_open[f"{notification.get('type', '-')}/{stage}"].append((opened - sent).total_seconds())
    to_decision: dict[str, list[float]] = defaultdict(list)
    closed = from_push = reminders = escalations = 0
    for task in task_items:
        for step in task.get("sla_steps") or []:
            if step.get("reason") == "not_seen":
                escalations += step.get("kind") == "sla.escalation"
                reminders += step.get("kind") == "sla.reminder"
        if task.get("status") != "closed":
            continue
        closed += 1
        opened_at, closed_at = _at(task.get("opened_at")), _at(task.get("closed_at"))
        if str(task.get("outcome", "")).endswith("via ecmpush") and opened_at and closed_at:
            from_push += 1
            seconds = (closed_at - opened_at).total_seconds()
            to_decision[f"task.assigned/{task.get('stage', 'task')}"].append(seconds)
    return {
        "time_to_open": _spread(to_open),
        "time_to_decision": _spread(to_decision),
        "decided": {"closed": closed, "from_push": from_push},
        "withdrawn": withdrawn,
        "not_seen": {"reminders": reminders, "escalations": escalations},
    }


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
        "process": process_figures(
            _scan(provisioned.refs["DeliveriesTable"]), _scan(provisioned.refs["TasksTable"])
        ),
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
    lines.extend(_process_lines(figures["process"]))
    lines.append("sweeps        name                          last run")
    for name in ("ExpirySweepFunction", "SlaSweepFunction", "DevicePruneFunction"):
        run = figures["sweeps"].get(name)
        summary = "not run yet" if run is None else _sweep_summary(run)
        lines.append(f"              {name:<30}{summary}")
    return "\n".join(lines)


def _process_lines(process: dict[str, Any]) -> list[str]:
    decided = process["decided"]
    share = f"{100 * decided['from_push'] // decided['closed']}%" if decided["closed"] else "-"
    lines = [
        f"decisions     from a push {decided['from_push']} of {decided['closed']} closed ({share})"
        f"   withdrawn {process['withdrawn']}   not seen: reminders"
        f" {process['not_seen']['reminders']}, escalations {process['not_seen']['escalations']}",
    ]
    for title, name in (("time to open", "time_to_open"), ("to decision", "time_to_decision")):
        lines.append(f"{title:<14}flow/stage                    p50      p90      n")
        for key, spread in process[name].items():
            lines.append(
                f"              {key:<30}{_span(spread['p50']):<9}{_span(spread['p90']):<9}"
                f"{spread['n']}"
            )
    return lines


def _span(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def _sweep_summary(run: dict[str, Any]) -> str:
    counts = ", ".join(
        f"{k} {v}" for k, v in run.get("result", {}).items() if isinstance(v, int | bool)
    )
    return f"{run.get('at', '?')}  {counts}"


def _age(seconds: int | None) -> str:
    return "-" if seconds is None else f"{seconds} s"
