"""Request bodies are UTF-8 JSON without a BOM, nested at most MAX_JSON_DEPTH levels (contract §1,
issue 20 finding 11a, issue 21 §1): both limits hold on every interpreter, not by way of the
recursion limit, and brackets inside strings are text, not nesting."""

from __future__ import annotations

import codecs
import json

import pytest

from ecmpush.domain.json_text import MAX_JSON_DEPTH, UnreadableJson, check_depth, read_json

EVENT = {"id": "evt-1", "type": "task.completed", "data": {"task": {"task_id": "2"}}}


def nested(depth: int, opener: str = "[", closer: str = "]") -> str:
    return opener * depth + closer * depth


def test_the_limit_itself_is_read_and_one_more_level_is_refused() -> None:
    assert read_json(nested(MAX_JSON_DEPTH).encode()) is not None
    with pytest.raises(UnreadableJson, match=f"more than {MAX_JSON_DEPTH} levels"):
        read_json(nested(MAX_JSON_DEPTH + 1).encode())


@pytest.mark.parametrize("depth", [65, 3000, 100_000])
def test_deep_arrays_and_objects_are_refused_whatever_the_interpreter(depth: int) -> None:
    with pytest.raises(UnreadableJson):
        read_json(nested(depth).encode())
    with pytest.raises(UnreadableJson):
        read_json(('{"a":' * depth + "1" + "}" * depth).encode())


def test_brackets_and_escaped_quotes_inside_strings_are_not_nesting() -> None:
    text = json.dumps({"comment": "[" * 500 + '\\" {{{ \\\\' + "]" * 3, "b": ["}"]})
    check_depth(text)
    assert read_json(text.encode())["b"] == ["}"]


def test_an_unterminated_string_cannot_hide_nesting_from_json() -> None:
    with pytest.raises(UnreadableJson, match="not valid JSON"):
        read_json(b'["abc' + b"[" * 100)


@pytest.mark.parametrize(
    ("encoded", "says"),
    [
        (codecs.BOM_UTF8 + json.dumps(EVENT).encode(), "byte order mark"),
        (json.dumps(EVENT).encode("utf-16"), "UTF-16 or UTF-32"),
        (json.dumps(EVENT).encode("utf-16-le"), "UTF-16 or UTF-32"),
        (json.dumps(EVENT).encode("utf-16-be"), "UTF-16 or UTF-32"),
        (json.dumps(EVENT).encode("utf-32"), "UTF-16 or UTF-32"),
        (json.dumps(EVENT).encode("utf-32-le"), "UTF-16 or UTF-32"),
        (json.dumps(EVENT).encode("utf-32-be"), "UTF-16 or UTF-32"),
    ],
    ids=["utf-8-bom", "utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-le", "utf-32-be"],
)
def test_only_utf8_without_a_bom_is_json_here(encoded: bytes, says: str) -> None:
    assert json.loads(encoded) == EVENT  # what the standard library would have accepted
    with pytest.raises(UnreadableJson, match=says):
        read_json(encoded)


def test_plain_utf8_reads_and_other_bytes_are_refused() -> None:
    assert read_json(json.dumps({"name": "Größe"}, ensure_ascii=False).encode()) == {
        "name": "Größe"
    }
    with pytest.raises(UnreadableJson, match="not UTF-8"):
        read_json(b'{"name": "\xff"}')
    with pytest.raises(UnreadableJson, match="not valid JSON"):
        read_json(b'{"n": ' + b"9" * 5000 + b"}")
