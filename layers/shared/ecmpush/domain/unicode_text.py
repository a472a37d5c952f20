"""Text as a reader sees it: the Unicode facts that user ids and audit comments are checked with.

Python's `unicodedata` has categories and normalisation but not the Default_Ignorable_Code_Point
property (code points a renderer shows as nothing: soft hyphen, zero-width characters, bidi
controls, Hangul fillers, the Mongolian vowel separator, variation selectors, the U+E0000 tag
block), so its table is here, from the Unicode Character Database. Such a character lets two
strings that look the same compare different ("ecm\\u00adpush" reads "ecmpush"), which is how a
forged audit trailer or a second spelling of a user id got through."""

from __future__ import annotations

import bisect
import unicodedata

# Default_Ignorable_Code_Point, from DerivedCoreProperties.txt of the Unicode Character
# Database (https://www.unicode.org/Public/15.1.0/ucd/DerivedCoreProperties.txt, the version
# of Python 3.13's unicodedata; the list is unchanged from 14.0 to 16.0). Inclusive ranges.
# tests/unit/test_unicode_text.py re-derives the assigned part from unicodedata's categories.
DEFAULT_IGNORABLE: tuple[tuple[int, int], ...] = (
    (0x00AD, 0x00AD),  # Cf SOFT HYPHEN
    (0x034F, 0x034F),  # Mn COMBINING GRAPHEME JOINER
    (0x061C, 0x061C),  # Cf ARABIC LETTER MARK
    (0x115F, 0x1160),  # Lo HANGUL CHOSEONG FILLER..HANGUL JUNGSEONG FILLER
    (0x17B4, 0x17B5),  # Mn KHMER VOWEL INHERENT AQ..KHMER VOWEL INHERENT AA
    (0x180B, 0x180D),  # Mn MONGOLIAN FREE VARIATION SELECTOR ONE..THREE
    (0x180E, 0x180E),  # Cf MONGOLIAN VOWEL SEPARATOR
    (0x180F, 0x180F),  # Mn MONGOLIAN FREE VARIATION SELECTOR FOUR
    (0x200B, 0x200F),  # Cf ZERO WIDTH SPACE..RIGHT-TO-LEFT MARK
    (0x202A, 0x202E),  # Cf LEFT-TO-RIGHT EMBEDDING..RIGHT-TO-LEFT OVERRIDE
    (0x2060, 0x2064),  # Cf WORD JOINER..INVISIBLE PLUS
    (0x2065, 0x2065),  # Cn <reserved-2065>
    (0x2066, 0x206F),  # Cf LEFT-TO-RIGHT ISOLATE..NOMINAL DIGIT SHAPES
    (0x3164, 0x3164),  # Lo HANGUL FILLER
    (0xFE00, 0xFE0F),  # Mn VARIATION SELECTOR-1..VARIATION SELECTOR-16
    (0xFEFF, 0xFEFF),  # Cf ZERO WIDTH NO-BREAK SPACE
    (0xFFA0, 0xFFA0),  # Lo HALFWIDTH HANGUL FILLER
    (0xFFF0, 0xFFF8),  # Cn <reserved-FFF0>..<reserved-FFF8>
    (0x1BCA0, 0x1BCA3),  # Cf SHORTHAND FORMAT LETTER OVERLAP..SHORTHAND FORMAT UP STEP
    (0x1D173, 0x1D17A),  # Cf MUSICAL SYMBOL BEGIN BEAM..MUSICAL SYMBOL END PHRASE
    (0xE0000, 0xE0000),  # Cn <reserved-E0000>
    (0xE0001, 0xE0001),  # Cf LANGUAGE TAG
    (0xE0002, 0xE001F),  # Cn <reserved-E0002>..<reserved-E001F>
    (0xE0020, 0xE007F),  # Cf TAG SPACE..CANCEL TAG
    (0xE0080, 0xE00FF),  # Cn <reserved-E0080>..<reserved-E00FF>
    (0xE0100, 0xE01EF),  # Mn VARIATION SELECTOR-17..VARIATION SELECTOR-256
    (0xE01F0, 0xE0FFF),  # Cn <reserved-E01F0>..<reserved-E0FFF>
)
_STARTS = tuple(start for start, _ in DEFAULT_IGNORABLE)

ZWJ = "\u200d"
_EMOJI_PRESENTATION = frozenset("\ufe0e\ufe0f")  # VS15 (text) / VS16 (emoji presentation)
_KEYCAP = "\u20e3"


def is_default_ignorable(ch: str) -> bool:
    code = ord(ch)
    i = bisect.bisect_right(_STARTS, code) - 1
    return i >= 0 and DEFAULT_IGNORABLE[i][0] <= code <= DEFAULT_IGNORABLE[i][1]


def _pictographic(ch: str) -> bool:
    """Close enough to Extended_Pictographic for keeping emoji whole (unicodedata lacks it):
    symbols (So) and emoji skin-tone modifiers (Sk, U+1F3FB..1F3FF)."""
    category = unicodedata.category(ch)
    return category == "So" or (category == "Sk" and 0x1F3FB <= ord(ch) <= 0x1F3FF)


def without_default_ignorables(text: str, *, keep_emoji: bool = True) -> str:
    """`text` with every default-ignorable code point removed, except, with `keep_emoji`, those
    an emoji is made of: a variation selector 15/16 right after a symbol (❤️) or before a keycap
    (1️⃣), and a zero-width joiner between two emoji (👩‍💻, 🏳️‍🌈). Between letters none survives, so
    no word can be split or padded invisibly. Tag characters (U+E0020..E007F) always go: they can
    spell hidden ASCII text, so the subdivision flags they form (England, Scotland, Wales) are
    shown as their base black flag, deliberately."""
    out: list[str] = []
    for i, ch in enumerate(text):
        if not is_default_ignorable(ch):
            out.append(ch)
            continue
        if not keep_emoji:
            continue
        before = out[-1] if out else ""
        after = text[i + 1] if i + 1 < len(text) else ""
        if ch in _EMOJI_PRESENTATION and before not in _EMOJI_PRESENTATION:
            if (before and _pictographic(before)) or after == _KEYCAP:
                out.append(ch)
        elif (
            ch == ZWJ
            and after
            and _pictographic(after)
            and (before in _EMOJI_PRESENTATION or (before and _pictographic(before)))
        ):
            out.append(ch)
    return "".join(out)


# Latin look-alikes from Cyrillic and Greek (after NFKC, which already folds full-width and
# other compatibility forms, and casefolding), in the spirit of Unicode's confusables.txt
# (UTS #39) for the letters that matter here; digits 0 and 1 read as o and l.
_LOOK_ALIKES = str.maketrans(
    {
        # Cyrillic
        "\u0430": "a", "\u0432": "b", "\u044c": "b", "\u0441": "c", "\u0501": "d", "\u0435": "e",
        "\u0451": "e", "\u04bb": "h", "\u043d": "h", "\u0456": "i", "\u0457": "i", "\u0458": "j",
        "\u043a": "k", "\u04cf": "l", "\u043c": "m", "\u043f": "n", "\u043e": "o", "\u0440": "p",
        "\u051b": "q", "\u0433": "r", "\u0455": "s", "\u0442": "t", "\u045f": "u", "\u0475": "v",
        "\u051d": "w", "\u0445": "x", "\u0443": "y",
        # Greek
        "\u03b1": "a", "\u03b2": "b", "\u03f2": "c", "\u03b5": "e", "\u03b7": "n", "\u03b9": "i",
        "\u03ba": "k", "\u03bd": "v", "\u03bf": "o", "\u03c1": "p", "\u03c4": "t", "\u03c5": "u",
        "\u03c7": "x", "\u03b3": "y", "\u03b6": "z", "\u03bc": "u",
        # Latin letters that look like others (small capitals, dotless i, ...)
        "\u0131": "i", "\u0269": "i", "\u026a": "i", "\u0251": "a", "\u0261": "g", "\u028b": "v",
        "\u1d20": "v", "\u1d04": "c", "\u1d0d": "m", "\u1d18": "p", "\u1d1c": "u", "\u029c": "h",
        "\u1d0f": "o", "\u0274": "n", "\u0299": "b", "\u029f": "l", "\ua730": "f", "\u1d07": "e",
        "\ua731": "s", "\u1d00": "a",
        # digits, and a blank that is not whitespace (braille pattern blank)
        "0": "o", "1": "l", "\u2800": " ",
    }
)  # fmt: skip


def skeleton(text: str) -> str:
    """What `text` looks like, for matching words a reader would take for ecmpush's own:
    NFKC, casefolded, every default-ignorable code point, combining mark, control and format
    character removed, Cyrillic and Greek look-alikes read as Latin letters. Only for checks;
    never stored or shown."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    decomposed = unicodedata.normalize("NFD", without_default_ignorables(folded, keep_emoji=False))
    bare = "".join(ch for ch in decomposed if unicodedata.category(ch)[0] not in "MC")
    return unicodedata.normalize("NFKC", bare).translate(_LOOK_ALIKES)
