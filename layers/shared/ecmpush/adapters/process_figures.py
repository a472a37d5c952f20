"""Process visibility figures (issue 23 item 6) as Powertools metrics with the dimensions `flow`
and `stage`: one EMF record per figure, flushed at once, since the handler's shared `metrics`
carries only the `service` dimension. Why: docs/design/not-seen.md ("Figures")."""

from __future__ import annotations

from aws_lambda_powertools.metrics import MetricUnit, single_metric

from ecmpush.entrypoints.observability import metrics

TIME_TO_DECISION = "TimeToDecision"
DECISIONS_FROM_PUSH = "DecisionsFromPush"


class PowertoolsFigures:
    def decided(self, *, flow: str, stage: str, seconds: float) -> None:
        """A decision given from a push was applied `seconds` after the task's first push."""
        for name, unit, value in (
            (TIME_TO_DECISION, MetricUnit.Seconds, max(seconds, 0.0)),
            (DECISIONS_FROM_PUSH, MetricUnit.Count, 1.0),
        ):
            with single_metric(
                name=name,
                unit=unit,
                value=value,
                namespace=metrics.namespace,
                default_dimensions={"flow": flow, "stage": stage},
            ):
                pass
