"""Finding 7 of issue 9 (the part landed): handler responses, which hold inbox contents and
device registrations, are never captured into X-Ray traces by Powertools Tracer."""

from __future__ import annotations

from devstack import template as cfn
from tests.unit.test_template import TEMPLATE


def test_tracer_never_captures_handler_responses() -> None:
    env = cfn.load(TEMPLATE)["Globals"]["Function"]["Environment"]["Variables"]
    assert env["POWERTOOLS_TRACER_CAPTURE_RESPONSE"] == "false"
