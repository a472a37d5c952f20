"""docs/openapi.json, the API Gateway documentation parts in template.yaml and the samples in
docs/clients.md are what the code generates now: a change without `make openapi` or
`make samples` fails here."""

from __future__ import annotations

import json
import re

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response

from devstack import api_documentation, openapi, push_samples
from devstack import template as cfn

# What each of the seven flows of the README pushes (flow 7 is the reply's confirmation).
FLOW_TYPES = {
    1: {"task.assigned"},
    2: {"expiry.warning"},
    3: {"sla.reminder", "sla.escalation", "task.snoozed"},  # the SLA sweep's pushes
    4: {"document.available"},
    5: {"document.published"},
    6: {"governance.alert"},
    7: {"response.confirmed"},
    "withdrawal": {"withdrawn"},  # issue 23: a push whose task was decided elsewhere
}


def test_checked_in_openapi_document_is_current() -> None:
    assert openapi.OUTPUT.read_text() == openapi.render(), (
        "docs/openapi.json is stale: make openapi"
    )


def test_document_is_openapi_3_1_with_every_route_and_its_answers() -> None:
    document = json.loads(openapi.render())
    assert document["openapi"] == "3.1.0"
    operations = {(m, p) for p, item in document["paths"].items() for m in item}
    assert operations == openapi.template_routes()
    assert openapi.problems(document) == []
    reply = document["paths"]["/responses"]["post"]
    assert reply["operationId"] == "postResponse"
    assert set(reply["responses"]) == {
        "202", "400", "401", "403", "409", "410", "413", "422", "503"
    }  # fmt: skip
    assert reply["responses"]["202"]["content"]["application/json"]["schema"]["anyOf"] == [
        {"$ref": "#/components/schemas/ReplyAccepted"},
        {"$ref": "#/components/schemas/ReplySnoozed"},
    ]
    assert reply["responses"]["410"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ErrorBody"
    }
    assert reply["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ReplyRequest"
    }
    assert "action_token" in document["components"]["schemas"]["ReplyRequest"]["properties"]
    assert reply["security"] == [{"firebaseIdToken": []}]


def test_webhook_documents_the_event_union_as_its_request_body() -> None:
    document = json.loads(openapi.render())
    webhook = document["paths"]["/ecm/events"]["post"]
    body = webhook["requestBody"]["content"]["application/json"]
    one_of = {ref["$ref"].rsplit("/", 1)[1] for ref in body["schema"]["anyOf"][0]["oneOf"]}
    assert one_of == {
        "TaskAssigned", "TaskCompleted", "RecordExpiryScheduled", "DocumentAvailable",
        "DocumentPublished", "GovernanceAlert",
    }  # fmt: skip
    assert body["schema"]["anyOf"][1] == {"$ref": "#/components/schemas/EventBatch"}
    assert body["example"]["type"] == "task.assigned"
    assert {"200", "202", "207", "400", "401", "403", "409", "413", "415", "422", "503"} == set(
        webhook["responses"]
    )


def test_every_answer_of_every_route_is_typed_and_named() -> None:
    """Each operation of the document names its operationId, summary, tags and security, and
    every answer but 204 has a body model; errors answer ErrorBody."""
    document = json.loads(openapi.render())
    for path, item in document["paths"].items():
        for method, operation in item.items():
            where = f"{method.upper()} {path}"
            assert openapi.OPERATION_ID.match(operation["operationId"]), where
            for status, answer in operation["responses"].items():
                if status == "204":
                    assert "content" not in answer, where
                    continue
                for media_type, body in answer["content"].items():
                    schema = body["schema"]
                    if media_type == "application/json":
                        assert "$ref" in schema or "anyOf" in schema, (where, status)
                    else:  # a file: the approver's document content
                        assert schema == {"type": "string", "format": "binary"}, (where, status)


def test_the_rules_catch_a_route_without_operation_id_or_response_model() -> None:
    """A route declared the way Powertools allows by default (no operation_id, no responses=)
    breaks the rules, and so does a route of the template missing from the document."""
    app = APIGatewayRestResolver(enable_validation=True)

    @app.get("/me/receipts")
    def list_receipts() -> Response[str]:  # pragma: no cover - never called
        return Response(200, "application/json", "[]")

    document = json.loads(app.get_openapi_json_schema(title="t", version="1"))
    found = openapi.problems(document, routes={("get", "/me/receipts"), ("post", "/x")})
    assert "POST /x: in template.yaml, not in the document" in found
    assert any(p.startswith("GET /me/receipts: no named operationId") for p in found)
    assert "GET /me/receipts 200: no response model (responses= on the route)" in found
    assert "GET /me/receipts: no tags" in found
    document["components"]["schemas"]["Renamed"] = {"title": "Original", "type": "object"}
    assert "schema Renamed: titled 'Original'" in openapi.problems(document, routes=set())


def test_push_samples_in_clients_doc_are_current() -> None:
    text = push_samples.DOC.read_text()
    assert push_samples.updated_doc(text) == text, "docs/clients.md samples are stale: make samples"
    assert text.count("#### ") == 16
    assert '"category": "ECM_APPROVAL"' in text
    assert '"click_action": "ECM_REVIEW"' in text


def test_every_flow_has_an_android_and_an_ios_sample() -> None:
    """Each heading has one android and one ios payload, and together they cover every push type
    of the seven flows: expiry warnings (single and digest), SLA reminder and escalation too."""
    block = push_samples.render_block()
    sections = re.split(r"^#### ", block, flags=re.MULTILINE)[1:]
    types: set[str] = set()
    for section in sections:
        payloads = [
            json.loads(body) for body in re.findall(r"```json\n(.*?)\n```", section, re.DOTALL)
        ]
        assert len(payloads) == 2, section
        android, ios = (p["message"] for p in payloads)
        assert {"android", "apns"} & set(android) == {"android"}, section
        assert {"android", "apns"} & set(ios) == {"apns"}, section
        assert android["data"]["type"] == ios["data"]["type"]
        types.add(android["data"]["type"])
    assert types == set().union(*FLOW_TYPES.values())
    headings = [section.splitlines()[0] for section in sections]
    assert any("digest" in h for h in headings)
    assert any(h.startswith("expiry.warning, one record") for h in headings)
    escalation = next(s for s in sections if s.startswith("sla.escalation"))
    assert '"actions": "approve,reject,request_info"' in escalation  # the step's own buttons
    assert '"action_token"' in escalation
    not_seen = [s for s in sections if s.split(" (")[0].endswith("not seen")]
    assert len(not_seen) == 2
    assert all(s.count('"reason": "not_seen"') == 2 for s in not_seen)  # android and ios
    withdrawn = next(s for s in sections if s.startswith("withdrawn"))
    assert '"notification": {' not in withdrawn  # data-only: the app closes the push itself
    assert '"apns-collapse-id": "task-' in withdrawn


def test_template_documents_every_api_route_from_the_openapi_document() -> None:
    """template.yaml's documentation parts are what `make openapi` makes of the document now,
    one METHOD part per operation, each on a route SAM creates from a function's Api event
    (never documentation of a method the API does not have), and the version snapshot
    waits for every part and changes whenever one does."""
    text = cfn.TEMPLATE.read_text()
    assert api_documentation.updated_template(text) == text, (
        "template.yaml API documentation is stale: make openapi"
    )
    template = cfn.load()
    parts = cfn.resources(template, "AWS::ApiGateway::DocumentationPart")
    assert all(p["Properties"]["RestApiId"] == {"Ref": "EcmpushApi"} for p in parts.values())
    methods = {
        (p["Properties"]["Location"]["Method"], p["Properties"]["Location"]["Path"]): p
        for p in parts.values()
        if p["Properties"]["Location"]["Type"] == "METHOD"
    }
    document = json.loads(openapi.OUTPUT.read_text())
    operations = {(m.upper(), path) for path, item in document["paths"].items() for m in item}
    routes = {
        (route.method, route.path)
        for spec in cfn.functions(template).values()
        for route in spec.routes
    }
    assert set(methods) == operations == routes
    reply = json.loads(methods[("POST", "/responses")]["Properties"]["Properties"])
    assert reply["summary"] == "Answer a push: approve, reject, acknowledge or ask for info"
    assert "410 the action token has expired" in reply["description"]
    webhook = json.loads(methods[("POST", "/ecm/events")]["Properties"]["Properties"])
    assert "x-api-key + X-Ecmpush-Signature" in webhook["description"]
    (api,) = (p for p in parts.values() if p["Properties"]["Location"]["Type"] == "API")
    assert json.loads(api["Properties"]["Properties"])["info"]["title"] == "ecmpush API"

    (version,) = cfn.resources(template, "AWS::ApiGateway::DocumentationVersion").values()
    assert set(version["DependsOn"]) == set(parts)
    assert version["Properties"]["RestApiId"] == {"Ref": "EcmpushApi"}
    found = api_documentation.parts(document)
    assert version["Properties"]["DocumentationVersion"] == api_documentation.version_of(found)
    changed = json.loads(json.dumps(document))
    changed["paths"]["/responses"]["post"]["responses"]["410"]["description"] = "gone"
    assert (
        api_documentation.version_of(api_documentation.parts(changed))
        != (version["Properties"]["DocumentationVersion"])
    )
