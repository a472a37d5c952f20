"""The request body as API Gateway hands it over: text as its bytes (lone surrogates kept so
the UTF-8 check refuses them later), base64 decoded strictly, anything else refused."""

from __future__ import annotations

import base64

import pytest

from ecmpush.entrypoints.http import UnreadableBody, raw_body


def test_text_and_base64_bodies_give_their_bytes() -> None:
    assert raw_body({"body": '{"a": "ü"}'}) == '{"a": "ü"}'.encode()
    assert raw_body({"body": None}) == b""
    encoded = base64.b64encode(b"\xff\x00binary").decode()
    assert raw_body({"body": encoded, "isBase64Encoded": True}) == b"\xff\x00binary"
    assert raw_body({"body": "\udcff"}) == b"\xed\xb3\xbf"  # not UTF-8: refused when decoded


@pytest.mark.parametrize("body", ["!!!!", "YWJ", "YW Jj", "ü"])
def test_a_body_that_is_not_base64_is_refused(body: str) -> None:
    with pytest.raises(UnreadableBody, match="not valid base64"):
        raw_body({"body": body, "isBase64Encoded": True})
