"""The Default_Ignorable_Code_Point table, emoji kept whole, and the look-alike skeleton."""

from __future__ import annotations

import itertools
import sys
import unicodedata

import pytest

from ecmpush.domain.unicode_text import (
    DEFAULT_IGNORABLE,
    is_default_ignorable,
    skeleton,
    without_default_ignorables,
)
from tests.conftest import fullwidth

# DerivedCoreProperties.txt derives the property: Other_Default_Ignorable_Code_Point + Cf +
# Variation_Selector - White_Space - FFF9..FFFB - 13430..1343F - Prepended_Concatenation_Mark
# (plus reserved blocks). unicodedata has the categories, so the assigned part can be rechecked.
_OTHER_DEFAULT_IGNORABLE = {0x034F, 0x115F, 0x1160, 0x17B4, 0x17B5, 0x3164, 0xFFA0}
_VARIATION_SELECTORS = {*range(0x180B, 0x180E), 0x180F, *range(0xFE00, 0xFE10)} | {
    *range(0xE0100, 0xE01F0)
}
_PREPENDED_CONCATENATION_MARKS = {*range(0x0600, 0x0606), 0x06DD, 0x070F, 0x0890, 0x0891}
_PREPENDED_CONCATENATION_MARKS |= {0x08E2, 0x110BD, 0x110CD}
_NOT_IGNORABLE_FORMAT = {*range(0xFFF9, 0xFFFC), *range(0x13430, 0x13440)}


def test_the_table_is_the_derived_property_for_every_assigned_code_point() -> None:
    for code in range(sys.maxunicode + 1):
        category = unicodedata.category(chr(code))
        if category == "Cn":
            continue
        expected = (
            code in _OTHER_DEFAULT_IGNORABLE
            or code in _VARIATION_SELECTORS
            or (
                category == "Cf"
                and code not in _PREPENDED_CONCATENATION_MARKS
                and code not in _NOT_IGNORABLE_FORMAT
            )
        )
        assert is_default_ignorable(chr(code)) is expected, hex(code)


def test_the_table_is_sorted_and_disjoint() -> None:
    for (_, end), (start, _) in itertools.pairwise(DEFAULT_IGNORABLE):
        assert end < start


@pytest.mark.parametrize(
    "emoji",
    [
        "\U0001f469\u200d\U0001f4bb",  # 👩‍💻 woman technologist (ZWJ)
        "\u2764\ufe0f",  # ❤️ (VS16)
        "\U0001f3f3\ufe0f\u200d\U0001f308",  # 🏳️‍🌈 (VS16 then ZWJ)
        "\U0001f9d1\U0001f3fd\u200d\U0001f4bb",  # 🧑🏽‍💻 (skin tone, ZWJ)
        "1\ufe0f\u20e3",  # 1️⃣ keycap
        "\U0001f468\u200d\U0001f469\u200d\U0001f467",  # 👨‍👩‍👧
    ],
)
def test_emoji_survive_whole(emoji: str) -> None:
    assert without_default_ignorables(f"ok {emoji} fine") == f"ok {emoji} fine"


def test_joiners_and_selectors_between_letters_go() -> None:
    padded = "e\u200dc\ufe0fm\u00adp\u180eu\u3164s\U000e0068h"
    assert without_default_ignorables(padded) == "ecmpush"
    assert without_default_ignorables("\u200d\U0001f4bb") == "\U0001f4bb"  # no emoji before


def test_tag_sequences_lose_their_tags_deliberately() -> None:
    england = "\U0001f3f4\U000e0067\U000e0062\U000e0065\U000e006e\U000e0067\U000e007f"
    assert without_default_ignorables(england) == "\U0001f3f4"


@pytest.mark.parametrize(
    "text",
    [
        "via ecmpush",
        "VIA ECMPUSH",
        fullwidth("via ecmpush"),
        "v\u0456\u0430 \u0435\u0441m\u0440ush",  # Cyrillic i, a, e, c, p
        "\u03bd\u03b9\u03b1 ecmpush",  # Greek nu, iota, alpha
        "via ecm\u00adpush",  # soft hyphen
        "vi\u0301a ecmpush",  # a combining mark
        "via\u2800ecmpush",  # braille blank
        "ᴠɪᴀ ᴇᴄᴍᴘᴜꜱʜ",  # small capitals
    ],
)
def test_the_skeleton_of_look_alikes_is_the_latin_text(text: str) -> None:
    assert " ".join(skeleton(text).split()) == "via ecmpush"
