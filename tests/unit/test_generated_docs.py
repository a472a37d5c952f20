"""docs/openapi.json and the samples in docs/clients.md are what the code generates now: a change
without `make openapi` or `make samples` fails here."""

from __future__ import annotations

import json

from devstack import openapi, push_samples


def test_checked_in_openapi_document_is_current() -> None:
    assert openapi.OUTPUT.read_text() == openapi.render(), (
        "docs/openapi.json is stale: make openapi"
    )


def test_document_is_openapi_3_1_with_every_route_and_its_answers() -> None:
    document = json.loads(openapi.render())
    assert document["openapi"] == "3.1.0"
    operations = {(m, p) for p, item in document["paths"].items() for m in item}
    assert operations == set(openapi.ANSWERS)
    reply = document["paths"]["/responses"]["post"]
    assert set(reply["responses"]) == {"202", "401", "403", "409", "410", "422", "503"}
    assert reply["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ReplyRequest"
    }
    assert "action_token" in document["components"]["schemas"]["ReplyRequest"]["properties"]
    assert reply["security"] == [{"firebaseIdToken": []}]


def test_push_samples_in_clients_doc_are_current() -> None:
    text = push_samples.DOC.read_text()
    assert push_samples.updated_doc(text) == text, "docs/clients.md samples are stale: make samples"
    assert text.count("#### ") == 7
    assert '"category": "ECM_APPROVAL"' in text
    assert '"click_action": "ECM_REVIEW"' in text
