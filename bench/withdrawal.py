"""withdrawal: time from a decision to the withdrawal reaching every device of a 100-member
group step (issue 23), on a local stack (bench/_withdrawal_child.py: moto, the FCM stand-in, the
template's Dispatch handler and queue, devstack's SQS poller). Each member has one device and
their own assignment push (a group step reaches its members one announcement each); the
decision is the `WithdrawalMessage` the write-back puts on the dispatch queue after Content
Server took the reply. The figure includes up to a second of SQS polling, as an event source
mapping's would, and no Content Server time."""

from __future__ import annotations

from bench._common import Json, Row, Spec, run_child, stats

NAME = "withdrawal"
MEMBERS = 100
RUNS = 3


def run(quick: bool) -> Json:
    members, runs = (10, 1) if quick else (MEMBERS, RUNS)
    measured = run_child("bench._withdrawal_child", {"members": members, "runs": runs})
    entries = measured["runs"]
    return {
        "members": members,
        "seconds_to_last_device": stats([e["seconds_to_last_device"] for e in entries], 3),
        "seconds_to_first_device": stats([e["seconds_to_first_device"] for e in entries], 3),
        "every_device_once": all(
            e["withdrawals"] == e["devices_reached"] == members for e in entries
        ),
        "runs": entries,
    }


def headline(result: Json) -> list[Row]:
    last, first = result["seconds_to_last_device"], result["seconds_to_first_device"]
    once = "each device once" if result["every_device_once"] else "NOT each device once"
    return [
        (
            f"group step of {result['members']}",
            f"{last['median']} s to the last device, {first['median']} s to the first, "
            f"{once} (n={last['n']})",
        )
    ]


SPEC = Spec(
    NAME, "decision to withdrawal on every device of a 100-member group step", run, headline
)
