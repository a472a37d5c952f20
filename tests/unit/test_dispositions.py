"""choose_disposition: reply actions become the keys the task really offers, never hard-coded."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from ecmpush.domain.replies.dispositions import (
    DEFAULT_DISPOSITION_MAPPING,
    ActionOption,
    Disposition,
    DispositionKind,
    NoMatchingDisposition,
    choose_disposition,
)


@dataclass
class FakeTask:
    actions: list[ActionOption] = field(default_factory=list)
    custom_actions: list[ActionOption] = field(default_factory=list)


def opts(*pairs: tuple[str, str]) -> list[ActionOption]:
    return [ActionOption(k, v) for k, v in pairs]


APPROVAL_TASK = FakeTask(
    actions=opts(
        ("SendOn", "Send On"), ("SendForReview", "Send for Review"), ("Delegate", "Forward")
    ),
    custom_actions=opts(("Approve", "Approve"), ("Reject", "Reject")),
)


@pytest.mark.parametrize(
    ("reply", "kind", "key"),
    [
        ("approve", DispositionKind.CUSTOM_ACTION, "Approve"),
        ("reject", DispositionKind.CUSTOM_ACTION, "Reject"),
        ("acknowledge", DispositionKind.ACTION, "SendOn"),
        ("request_info", DispositionKind.ACTION, "SendForReview"),
    ],
)
def test_defaults_pick_the_offered_keys(reply: str, kind: DispositionKind, key: str) -> None:
    chosen = choose_disposition(APPROVAL_TASK, reply)
    assert (chosen.kind, chosen.key, chosen.reply_action) == (kind, key, reply)


def test_later_candidate_and_case_insensitive_key() -> None:
    task = FakeTask(custom_actions=opts(("APPROVED", "Approved"), ("rejected", "Rejected")))
    assert choose_disposition(task, "approve").key == "APPROVED"
    assert choose_disposition(task, "reject").key == "rejected"


def test_label_matches_when_key_is_opaque() -> None:
    task = FakeTask(custom_actions=opts(("Disp_1", "Approve"), ("Disp_2", "Reject")))
    chosen = choose_disposition(task, "approve")
    assert (chosen.key, chosen.label) == ("Disp_1", "Approve")


def test_key_match_beats_label_match() -> None:
    # "Approve" is the label of one option and the key of another: the key wins.
    task = FakeTask(custom_actions=opts(("X", "Approve"), ("Approve", "Freigeben")))
    assert choose_disposition(task, "approve").key == "Approve"


def test_prefix_restricts_the_field() -> None:
    # A standard action named like a disposition must not satisfy a "custom:" candidate.
    task = FakeTask(actions=opts(("Approve", "Approve")))
    with pytest.raises(NoMatchingDisposition):
        choose_disposition(task, "approve")


def test_review_fallback_key() -> None:
    task = FakeTask(actions=opts(("SendOn", "Send On"), ("Review", "Review")))
    assert choose_disposition(task, "request_info").key == "Review"


def test_custom_mapping_and_bare_candidates() -> None:
    task = FakeTask(
        actions=opts(("SendOn", "Send On")), custom_actions=opts(("Freigeben", "Freigeben"))
    )
    mapping = {"approve": ["Freigeben"], "acknowledge": ["SendOn"]}
    assert choose_disposition(task, "approve", mapping) == Disposition(
        "approve", DispositionKind.CUSTOM_ACTION, "Freigeben", "Freigeben"
    )
    assert choose_disposition(task, "acknowledge", mapping).kind is DispositionKind.ACTION


def test_bare_candidate_prefers_custom_action() -> None:
    task = FakeTask(actions=opts(("Done", "Done")), custom_actions=opts(("Done", "Done")))
    assert choose_disposition(task, "x", {"x": ["Done"]}).kind is DispositionKind.CUSTOM_ACTION


def test_none_offered_is_a_clear_error() -> None:
    task = FakeTask(actions=opts(("SendOn", "Send On")))
    with pytest.raises(NoMatchingDisposition) as caught:
        choose_disposition(task, "approve")
    message = str(caught.value)
    assert "approve" in message
    assert "custom:Approve" in message
    assert "action:SendOn" in message
    assert caught.value.offered == ("action:SendOn",)


def test_unknown_reply_action_raises_not_keyerror() -> None:
    with pytest.raises(NoMatchingDisposition):
        choose_disposition(APPROVAL_TASK, "escalate")


def test_default_mapping_covers_contract_actions() -> None:
    assert set(DEFAULT_DISPOSITION_MAPPING) == {"approve", "reject", "acknowledge", "request_info"}
