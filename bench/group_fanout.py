"""group_fanout: one `document.available` for a team kept as a Content Server group of 100,000
users, 10,000 of whom have a device (issue 10: "100,000 must work too").

Nothing lists the members: Dispatch reads the group from the Content Server stand-in a page
(100 members) per dispatch message, each page a delivery batch, with the template's 30 s Timeout
enforced on every invocation. Measured as `fanout` measures (bench/_fanout_child.py): wall time
from enqueue to an empty queue, exactly-once, AWS calls, and how many member pages were read;
one container, so the rate is per invocation stream (docs/deploy.md multiplies it)."""

from __future__ import annotations

from bench._common import REPO, Json, Row, Spec
from bench.fanout import measure

NAME = "group_fanout"
MEMBERS = 100_000
DEVICES = 10_000


def run(quick: bool) -> Json:
    members, devices = (500, 50) if quick else (MEMBERS, DEVICES)
    return measure(REPO, devices, None, group_members=members)


def headline(result: Json) -> list[Row]:
    exact = (
        "exactly once"
        if result["messages"] == result["distinct_tokens"] == result["devices"]
        else f"{result['messages']} messages, {result['distinct_tokens']} tokens"
    )
    return [
        (
            f"group of {result['group_members']}, {result['devices']} devices",
            f"{result['wall_s']} s, {result['pushes_per_s']} pushes/s, {exact}, "
            f"{result['ecm_member_pages_read']} member pages, {result['invocations']} "
            f"invocations, {result['timed_out']} timed out, {result['peak_rss_mb']} MB",
        )
    ]


SPEC = Spec(NAME, "a 100,000-member Content Server group, 10,000 devices", run, headline)
