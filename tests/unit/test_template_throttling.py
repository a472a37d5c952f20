"""Issue 9, finding 9 (throttling): the webhook has limits of its own. POST /ecm/events needs
the ECM sender's API key, whose usage plan throttles that sender apart from the stage limit
every other caller shares; an optional WAF rate-based rule drops floods per source IP."""

from __future__ import annotations

from typing import Any

import pytest

from devstack import template as cfn
from tests.unit.test_template import TEMPLATE


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    loaded: dict[str, Any] = cfn.load(TEMPLATE)
    return loaded


def test_only_the_webhook_requires_the_ecm_senders_api_key(template):
    routes = {
        (route.method, route.path): route.api_key_required
        for spec in cfn.functions(template).values()
        for route in spec.routes
    }
    assert routes.pop(("POST", "/ecm/events")) is True
    assert routes
    assert not any(routes.values())  # the app authenticates with ID tokens


def test_the_senders_key_has_its_own_usage_plan_on_the_stage(template):
    resources = template["Resources"]
    plan = resources["WebhookUsagePlan"]["Properties"]
    (stage,) = plan["ApiStages"]
    assert stage["ApiId"] == {"Ref": "EcmpushApi"}
    assert stage["Stage"] == {"Ref": "EcmpushApi.Stage"}
    limits = {"RateLimit": {"Ref": "WebhookRateLimit"}, "BurstLimit": {"Ref": "WebhookBurstLimit"}}
    assert stage["Throttle"] == {"/ecm/events/POST": limits}
    assert plan["Throttle"] == limits
    key = resources["WebhookUsagePlanKey"]["Properties"]
    assert key == {
        "KeyId": {"Ref": "WebhookApiKey"},
        "KeyType": "API_KEY",
        "UsagePlanId": {"Ref": "WebhookUsagePlan"},
    }
    assert resources["WebhookApiKey"]["Properties"]["Enabled"] is True
    assert "Value" not in resources["WebhookApiKey"]["Properties"]  # generated, never in git
    assert template["Outputs"]["WebhookApiKeyId"]["Value"] == {"Ref": "WebhookApiKey"}
    params = template["Parameters"]
    # Below the stage-wide defaults, so a flood of the sender's own cannot take the whole stage.
    assert params["WebhookRateLimit"]["Default"] < params["ApiThrottlingRateLimit"]["Default"]
    assert params["WebhookBurstLimit"]["Default"] < params["ApiThrottlingBurstLimit"]["Default"]


def test_the_waf_rate_rule_is_optional_per_ip_and_scoped_to_the_webhook(template):
    resources = template["Resources"]
    assert template["Parameters"]["WebhookWafRateLimit"]["Default"] == 0  # off: WAF costs
    assert template["Conditions"]["HasWebhookWaf"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "WebhookWafRateLimit"}, 0]}]
    }
    acl = resources["WebhookWebAcl"]
    association = resources["WebhookWebAclAssociation"]
    assert acl["Condition"] == association["Condition"] == "HasWebhookWaf"
    props = acl["Properties"]
    assert props["Scope"] == "REGIONAL"
    assert props["DefaultAction"] == {"Allow": {}}
    (rule,) = props["Rules"]
    assert rule["Action"] == {"Block": {}}
    rate = rule["Statement"]["RateBasedStatement"]
    assert rate["Limit"] == {"Ref": "WebhookWafRateLimit"}
    assert rate["AggregateKeyType"] == "IP"
    match = rate["ScopeDownStatement"]["ByteMatchStatement"]
    assert (match["SearchString"], match["PositionalConstraint"]) == ("/ecm/events", "ENDS_WITH")
    arn = association["Properties"]["ResourceArn"]["Fn::Sub"]
    assert arn.endswith("/restapis/${EcmpushApi}/stages/${EcmpushApi.Stage}")
    assert association["Properties"]["WebACLArn"] == {"Fn::GetAtt": ["WebhookWebAcl", "Arn"]}
