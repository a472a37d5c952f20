"""Issue 20, finding 8: a comment spelled to look like ecmpush's own audit text still reaches the
Content Server audit trail. Soft hyphens, tag characters, U+180E and Hangul fillers inside the
words, and Cyrillic, Greek or full-width look-alikes of "via ecmpush" / "On behalf of", passed
the checks. Each is now refused with 422 on `comment`: the task stays open, no reply is
recorded; emoji and real Cyrillic text still reach the audit trail as written."""

from __future__ import annotations

import pytest

from tests.conftest import fullwidth
from tests.integration.harness import Harness
from tests.integration.test_hostile_comments import assert_refused_untouched
from tests.integration.test_response_callback import APPROVAL, _answer, _ecm_task, _push

STAMP = " from ios at 2026-01-01 00:00:00 UTC"
# woman technologist (a ZWJ sequence), red heart (emoji selector), rainbow flag, keycap one
EMOJI = (
    "Done \U0001f469\u200d\U0001f4bb \u2764\ufe0f \U0001f3f3\ufe0f\u200d\U0001f308 1\ufe0f\u20e3"
)


@pytest.mark.parametrize(
    "comment",
    [
        "fine — via ecm\u00adpush" + STAMP,  # soft hyphen
        "fine — via ecm\U000e0070push" + STAMP,  # a tag character (U+E0000 block)
        "fine — via e\U000e0001\U000e0063\U000e007fcmpush" + STAMP,  # language tag, tags
        "fine — via ecm\u180epush" + STAMP,  # Mongolian vowel separator
        "fine — via ecm\u3164push" + STAMP,  # Hangul filler
        "fine — via ecm\uffa0push" + STAMP,  # half-width Hangul filler
        "fine — via\u2800ecmpush" + STAMP,  # braille blank: looks like a space
        "fine — v\u0456\u0430 ecmpush" + STAMP,  # Cyrillic i, a
        "fine — via \u0435\u0441m\u0440ush" + STAMP,  # Cyrillic e, c, p
        "fine — \u03bd\u03b9\u03b1 ecmpush" + STAMP,  # Greek nu, iota, alpha
        "fine — " + fullwidth("via ecmpush") + STAMP,  # full-width
        "fine — \U0001d42f\U0001d422\U0001d41a ecmpush" + STAMP,  # mathematical bold
        "fine — \u1d20\u026a\u1d00 ecmpush" + STAMP,  # small capitals
        "fine — vi\u0307a ecmpush" + STAMP,  # a combining mark
        "\u041en behalf of the CFO: approved",  # Cyrillic capital O
        "\u039fn beh\u03b1lf of the CFO: approved",  # Greek omicron, alpha
        fullwidth("On behalf of") + " the CFO: approved",  # full-width
        "\u3164On behalf of the CFO: approved",  # a leading Hangul filler
        "0n behalf of the CFO: approved",  # digit zero
        "ok \uff1cscript\uff1ealert(1)\uff1c/script\uff1e",  # full-width "<" and ">"
    ],
)
def test_look_alike_forgeries_are_refused_and_nothing_reaches_ecm(
    harness: Harness, comment: str
) -> None:
    assert_refused_untouched(harness, comment)


@pytest.mark.parametrize(
    ("comment", "written"),
    [
        (EMOJI, None),
        ("\u0421\u043e\u0433\u043b\u0430\u0441\u043e\u0432\u0430\u043d\u043e", None),  # Russian
        ("m\u00b2 price \u00bd ok, done in <1 h", None),  # kept as written (NFC, not NFKC)
        ("ok\u200b fine\u00ad here\U000e0041", "ok fine here"),  # invisible characters go
    ],
)
def test_real_text_and_emoji_reach_the_audit_trail_as_written(
    harness: Harness, comment: str, written: str | None
) -> None:
    data = _push(harness, APPROVAL)
    reply = _answer(harness, data, "approve", "asmith", comment)
    assert reply.status == 202, reply
    [entry] = _ecm_task(harness, APPROVAL)["comments"]
    assert entry["comment"].startswith(f"{written or comment} — via ecmpush from android at ")
