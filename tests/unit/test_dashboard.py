"""The operations dashboard in template.yaml shows every queue, and only metrics the code emits
(a renamed metric would otherwise leave an empty graph nobody notices)."""

from __future__ import annotations

import json
import re
from typing import Any, get_args

from devstack import template as cfn
from ecmpush.domain.delivery.withdrawal import WithdrawalReason
from ecmpush.domain.replies.requests import ReplyStatus
from tests.conftest import REPO_ROOT

# report_run(prefix, ...) publishes <prefix><Count>; the function whose source names the counts.
SWEEP_SOURCES = {
    "ExpirySweep": "functions/expiry_sweep/app.py",
    "SlaSweep": "functions/sla_sweep/app.py",
    "StaleDevices": "functions/device_prune/app.py",
}


def _dashboard() -> dict[str, Any]:
    resource = cfn.resources(cfn.load(), "AWS::CloudWatch::Dashboard")["OperationsDashboard"]
    body = resource["Properties"]["DashboardBody"]["Fn::Sub"]
    parsed: dict[str, Any] = json.loads(body)
    return parsed


def _metrics(namespace: str) -> list[list[str]]:
    """Every metric row of `namespace`, with CloudWatch's "." (same as the row above) resolved."""
    rows: list[list[str]] = []
    for widget in _dashboard()["widgets"]:
        previous: list[str] = []
        for row in widget["properties"]["metrics"]:
            resolved = [previous[i] if v == "." else v for i, v in enumerate(row)]
            previous = resolved
            if resolved[0] == namespace:
                rows.append(resolved)
    return rows


# Metrics with the dimensions flow and stage, emitted one record each by this adapter.
FIGURES_SOURCE = REPO_ROOT / "layers/shared/ecmpush/adapters/process_figures.py"
FIGURE_DIMENSIONS = ("flow", "stage")


def _emitted(name: str) -> bool:
    sources = "".join(p.read_text() for p in (REPO_ROOT / "functions").glob("*/app.py"))
    sources += FIGURES_SOURCE.read_text()
    if re.search(rf'["(]{name}[",)]', sources) or f'"{name}"' in sources:
        return True
    for prefix, path in SWEEP_SOURCES.items():
        count = name.removeprefix(prefix)
        if name.startswith(prefix) and count:
            text = (REPO_ROOT / path).read_text()
            if count == "Incomplete" or f'"{count}"' in text or f'"{count.lower()}"' in text:
                return True
    for prefix in ("Replies_", "WriteBack_"):
        if name.startswith(prefix) and name.removeprefix(prefix) in {s.value for s in ReplyStatus}:
            return f'name=f"{prefix}{{' in sources
    return False


def test_every_application_metric_on_the_dashboard_is_emitted_by_the_code() -> None:
    names = [row[1] for row in _metrics("Ecmpush")]
    assert len(names) > 20
    assert [name for name in names if not _emitted(name)] == []
    for row in _metrics("Ecmpush"):
        words = [v for v in row[2:] if isinstance(v, str)]
        dimensions = dict(zip(words[::2], words[1::2], strict=True))
        assert dimensions.pop("service") == "ecmpush", row
        if row[1] in _figures():
            assert tuple(dimensions) == FIGURE_DIMENSIONS, row
        elif row[1] == "PushesWithdrawn":  # the withdrawal count carries its reason
            assert tuple(dimensions) == ("reason",), row
        else:
            assert dimensions == {}, row


def _figures() -> set[str]:
    return set(re.findall(r'^[A-Z_]+ = "(\w+)"$', FIGURES_SOURCE.read_text(), re.MULTILINE))


def test_time_to_decision_is_shown_at_p50_and_p90_for_every_stage() -> None:
    rows: list[list[Any]] = list(_metrics("Ecmpush"))
    shown = {(row[7], row[8]["stat"]) for row in rows if row[1] == "TimeToDecision"}
    stages = ("approval", "review", "task")
    assert shown == {(stage, stat) for stage in stages for stat in ("p50", "p90")}


def test_withdrawals_are_shown_for_every_reason_the_code_gives() -> None:
    reasons = {row[3] for row in _metrics("Ecmpush") if row[1] == "PushesWithdrawn"}
    assert reasons == set(get_args(WithdrawalReason))


def test_every_queue_has_its_age_and_depth_on_the_dashboard() -> None:
    queues = set(cfn.resources(cfn.load(), "AWS::SQS::Queue"))
    for metric in ("ApproximateAgeOfOldestMessage", "ApproximateNumberOfMessagesVisible"):
        shown = {row[3] for row in _metrics("AWS/SQS") if row[1] == metric}
        assert shown == {f"${{{queue}.QueueName}}" for queue in queues}, metric


def test_webhook_errors_are_the_api_stage_4xx_and_5xx() -> None:
    rows = _metrics("AWS/ApiGateway")
    assert {row[1] for row in rows} == {"4XXError", "5XXError"}
    assert all(row[2:] == ["ApiName", "${AWS::StackName}-api", "Stage", "${Stage}"] for row in rows)


def _searches() -> list[str]:
    """The SEARCH expressions of the dashboard (metrics whose dimension values vary)."""
    return [
        str(row[0]["expression"])
        for widget in _dashboard()["widgets"]
        for row in widget["properties"]["metrics"]
        if row and isinstance(row[0], dict) and "expression" in row[0]
    ]


def test_searched_metrics_are_emitted_with_the_dimensions_searched() -> None:
    """TimeToOpen has per-flow and per-stage dimensions, so the dashboard searches for it."""
    searches = _searches()
    time_to_open = [s for s in searches if 'MetricName="TimeToOpen"' in s]
    assert {s.rsplit("'", 2)[1] for s in time_to_open} == {"p50", "p90"}
    assert all("{Ecmpush,flow,service,stage}" in s for s in time_to_open)
    source = (REPO_ROOT / "functions/devices/app.py").read_text()
    assert 'name="TimeToOpen"' in source
    assert '{"flow": first_open.flow, "stage": first_open.stage}' in source
