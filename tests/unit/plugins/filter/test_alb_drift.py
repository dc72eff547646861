"""seed.fargate.alb_drift against amazon.aws's own comparisons (module_utils/elbv2.py, the installed version): for a
load balancer in sync it finds nothing and neither do they; for each kind of drift it names it, and for the listeners
and rules amazon.aws.elb_application_lb would change too. The load balancer is given as the info module returns it
(its snake_case conversion, its attribute names, its tags), built from the API's shapes."""

from __future__ import annotations

import copy
import sys
from pathlib import Path

import pytest
from ansible.module_utils.common.dict_transformations import camel_dict_to_snake_dict
from ansible_collections.amazon.aws.plugins.module_utils.elbv2 import _group_listeners, _group_rules

sys.path.insert(0, str(Path(__file__).resolve().parents[4] / "plugins" / "filter"))

import alb

TG = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/seed-{}/0123456789abcdef"
CERT = "arn:aws:acm:us-east-1:123456789012:certificate/11111111-2222-3333-4444-555555555555"
SECRET = "s3cr3t-origin-value"
HEADER = {"Field": "http-header", "HttpHeaderConfig": {"HttpHeaderName": "X-Origin-Verify", "Values": [SECRET]}}
REDIRECT = {"Type": "redirect", "RedirectConfig": {"Protocol": "HTTPS", "Port": "443", "Host": "#{host}",
                                                   "Path": "/#{path}", "Query": "#{query}", "StatusCode": "HTTP_301"}}
REFUSAL = {"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "403", "ContentType": "text/plain",
                                                             "MessageBody": "Forbidden"}}


def forward(group: str) -> dict:
    return {"Type": "forward", "TargetGroupArn": TG.format(group)}


def weighted(*groups: tuple[str, int]) -> dict:
    return {"Type": "forward", "ForwardConfig": {"TargetGroups": [{"TargetGroupArn": TG.format(g), "Weight": w}
                                                                  for g, w in groups]}}


def as_aws(action: dict, order: int = 1) -> dict:
    """An action as DescribeListeners/DescribeRules return it: with its Order, a forward with its ForwardConfig."""
    out = dict(copy.deepcopy(action), Order=order)
    if out["Type"] == "forward" and "ForwardConfig" not in out:
        out["ForwardConfig"] = {"TargetGroups": [{"TargetGroupArn": out["TargetGroupArn"], "Weight": 1}],
                                "TargetGroupStickinessConfig": {"Enabled": False}}
    return out


def desired_listeners(https: bool = True, origin: bool = True) -> list[dict]:
    """What the alb role gives elb_application_lb once converged: production (HTTPS, CloudFront's origin header),
    redirect, test; a rule's forward echoed as AWS returns it (vars/main.yml _alb_desired_actions)."""
    api_conditions = [{"Field": "path-pattern", "Values": ["/api/*"]}] + ([HEADER] if origin else [])
    production = {"Protocol": "HTTPS" if https else "HTTP", "Port": 443 if https else 80,
                  "DefaultActions": [REFUSAL] if origin else [forward("web-blue")],
                  "Rules": [{"Conditions": api_conditions, "Priority": 10, "Actions": [as_aws(forward("api-blue"))]}]
                  + ([{"Conditions": [HEADER], "Priority": 50000, "Actions": [as_aws(forward("web-blue"))]}]
                     if origin else [])}
    test = {"Protocol": "HTTPS" if https else "HTTP", "Port": 9000, "DefaultActions": [forward("web-green")],
            "Rules": [{"Conditions": [{"Field": "path-pattern", "Values": ["/api/*"]}], "Priority": 10,
                       "Actions": [as_aws(forward("api-green"))]}]}
    if https:
        for listener in (production, test):
            listener.update(Certificates=[{"CertificateArn": CERT}], SslPolicy="ELBSecurityPolicy-TLS13-1-2-2021-06")
    return [production] + ([{"Protocol": "HTTP", "Port": 80, "DefaultActions": [REDIRECT]}] if https else []) + [test]


DESIRED = {"subnets": ["subnet-a", "subnet-b"], "security_groups": ["sg-1"], "idle_timeout": 60,
           "http_drop_invalid_header_fields": True, "deletion_protection": False, "access_logs_enabled": False,
           "access_logs_s3_bucket": "", "access_logs_s3_prefix": "", "tags": {"stack": "seed", "environment": "local"}}


def api_state(listeners: list[dict]) -> tuple[dict, list[dict]]:
    """The load balancer (API shapes: DescribeLoadBalancers, attributes as key/value pairs, tags) and its listeners
    (DescribeListeners with each listener's DescribeRules under "Rules") in sync with ``listeners``."""
    lb = {"LoadBalancerArn": "arn:lb", "LoadBalancerName": "seed", "Scheme": "internet-facing", "Type": "application",
          "AvailabilityZones": [{"ZoneName": "us-east-1a", "SubnetId": "subnet-a"},
                                {"ZoneName": "us-east-1b", "SubnetId": "subnet-b"}],
          "SecurityGroups": ["sg-1"], "DNSName": "seed-1.elb", "CanonicalHostedZoneId": "Z2P70J7EXAMPLE"}
    attributes = {"idle_timeout.timeout_seconds": "60", "routing.http.drop_invalid_header_fields.enabled": "true",
                  "deletion_protection.enabled": "false", "access_logs.s3.enabled": "false",
                  "access_logs.s3.bucket": "", "access_logs.s3.prefix": "", "routing.http2.enabled": "true"}
    now = []
    for port, listener in enumerate(listeners):
        arn = f"arn:listener/{port}"
        current = {"ListenerArn": arn, "LoadBalancerArn": "arn:lb", "Port": listener["Port"],
                   "Protocol": listener["Protocol"], "AlpnPolicy": [],
                   "DefaultActions": [as_aws(a, i + 1) for i, a in enumerate(listener["DefaultActions"])]}
        if "SslPolicy" in listener:
            current.update(SslPolicy=listener["SslPolicy"], Certificates=copy.deepcopy(listener["Certificates"]))
        rules = [{"RuleArn": f"{arn}/rule/{n}", "Priority": str(rule["Priority"]), "IsDefault": False,
                  "Conditions": copy.deepcopy(rule["Conditions"]),
                  "Actions": [as_aws(a, i + 1) for i, a in enumerate(rule["Actions"])]}
                 for n, rule in enumerate(listener.get("Rules", []))]
        rules.append({"RuleArn": f"{arn}/rule/default", "Priority": "default", "IsDefault": True, "Conditions": [],
                      "Actions": copy.deepcopy(current["DefaultActions"])})
        now.append(dict(current, Rules=rules))
    lb["attributes"], lb["tags"] = attributes, {"stack": "seed", "environment": "local", "aws:cloudformation:x": "y"}
    return lb, now


def as_info(lb: dict, listeners: list[dict]) -> dict:
    """What amazon.aws.elb_application_lb_info returns for them (include_attributes, listeners and rules)."""
    raw = {k: v for k, v in lb.items() if k not in ("attributes", "tags")}
    raw.update({k.replace(".", "_"): v for k, v in lb["attributes"].items()})
    raw["listeners"] = [dict({k: v for k, v in li.items() if k != "Rules"}, rules=li["Rules"]) for li in listeners]
    info = camel_dict_to_snake_dict(raw)
    info["tags"] = dict(lb["tags"])
    return info


def module_changes(listeners: list[dict], desired: list[dict]) -> list:
    """What amazon.aws's own comparisons (purge_listeners, purge_rules) would do to the listeners and rules."""
    now = [{k: v for k, v in li.items() if k != "Rules"} for li in listeners]
    add, modify, delete = _group_listeners(copy.deepcopy(now), copy.deepcopy(desired))
    changes = [*add, *modify, *delete]
    for listener in desired:
        current = next((li for li in listeners if li["Port"] == listener["Port"]), None)
        if "Rules" in listener and current is not None:
            changes.extend(c for group in _group_rules(copy.deepcopy(current["Rules"]), copy.deepcopy(listener["Rules"]))
                           for c in group)
    return changes


def drift(lb, listeners, desired_lb=None, desired=None):
    wanted = dict(DESIRED if desired_lb is None else desired_lb, listeners=desired)
    return alb.alb_drift(as_info(lb, listeners), wanted)


@pytest.mark.parametrize("https,origin", [(True, True), (True, False), (False, True), (False, False)])
def test_a_load_balancer_as_converged_is_in_sync(https, origin):
    desired = desired_listeners(https, origin)
    lb, listeners = api_state(desired)
    assert module_changes(listeners, desired) == []
    assert drift(lb, listeners, desired=desired) == []


def test_a_rule_forward_given_without_the_order_aws_returns_is_a_change_for_both():
    """Why the role echoes a rule's forward as it is: the module compares a rule's actions in full."""
    desired = desired_listeners(https=False, origin=False)
    lb, listeners = api_state(desired)
    desired[0]["Rules"][0]["Actions"] = [forward("api-blue")]
    assert module_changes(listeners, desired) != []
    assert drift(lb, listeners, desired=desired) == ["listener 80 rules"]


def test_the_forwards_a_release_leaves_are_in_sync_as_the_role_echoes_them():
    """After a CodeDeploy release: the default action weighted 0/100 (the role gives a bare forward, which the module
    compares on its type alone), the api rule weighted 100/0 in the other order (the role echoes it)."""
    desired = desired_listeners(https=False, origin=False)
    lb, listeners = api_state(desired)
    listeners[0]["DefaultActions"] = [as_aws(weighted(("web-blue", 0), ("web-green", 100)))]
    listeners[0]["Rules"][0]["Actions"] = [as_aws(weighted(("api-green", 100), ("api-blue", 0)))]
    desired[0]["DefaultActions"] = [{"Type": "forward"}]
    desired[0]["Rules"][0]["Actions"] = [as_aws(weighted(("api-green", 100), ("api-blue", 0)))]
    assert module_changes(listeners, desired) == []
    assert drift(lb, listeners, desired=desired) == []


def test_during_a_release_only_the_load_balancer_is_compared():
    desired = desired_listeners()
    lb, listeners = api_state(desired)
    listeners[0]["Rules"][0]["Actions"] = [as_aws(weighted(("api-blue", 90), ("api-green", 10)))]
    assert drift(lb, listeners, desired=desired) == ["listener 443 rules"]
    assert drift(lb, listeners, desired=None) == []


def _attribute(name, value):
    def change(lb, _listeners, _desired):
        lb["attributes"][name] = value
    return change


def _tags(tags):
    def change(lb, _listeners, _desired):
        lb["tags"] = tags
    return change


LB_DRIFT = {
    "subnets": lambda lb, _, __: lb["AvailabilityZones"].pop(),
    "security groups": lambda lb, _, __: lb["SecurityGroups"].append("sg-2"),
    "attribute idle_timeout_timeout_seconds": _attribute("idle_timeout.timeout_seconds", "4000"),
    "attribute routing_http_drop_invalid_header_fields_enabled": _attribute(
        "routing.http.drop_invalid_header_fields.enabled", "false"),
    "attribute deletion_protection_enabled": _attribute("deletion_protection.enabled", "true"),
    "attribute access_logs_s3_enabled": _attribute("access_logs.s3.enabled", "true"),
    "attribute access_logs_s3_bucket": _attribute("access_logs.s3.bucket", "logs"),
    "attribute access_logs_s3_prefix": _attribute("access_logs.s3.prefix", "alb"),
    "tags": _tags({"stack": "seed", "environment": "local", "extra": "1"}),
}


@pytest.mark.parametrize("expected", sorted(LB_DRIFT))
def test_each_load_balancer_drift_is_named(expected):
    desired = desired_listeners()
    lb, listeners = api_state(desired)
    LB_DRIFT[expected](lb, listeners, desired)
    assert drift(lb, listeners, desired=desired) == [expected]


@pytest.mark.parametrize("tags", [{"stack": "seed"}, {"stack": "seed", "environment": "prod"}])
def test_tags_missing_or_changed_are_drift_but_aws_tags_are_not(tags):
    desired = desired_listeners()
    lb, listeners = api_state(desired)
    lb["tags"] = dict(tags, **{"aws:cloudformation:stack-name": "x"})
    assert drift(lb, listeners, desired=desired) == ["tags"]


def _rule(listener, index, **change):
    def apply(_lb, listeners, _desired):
        listeners[listener]["Rules"][index].update(change)
    return apply


def _listener(listener, **change):
    def apply(_lb, listeners, _desired):
        listeners[listener].update(change)
    return apply


LISTENER_DRIFT = {
    "listener 443 protocol": _listener(0, Protocol="HTTP"),
    "listener 443 certificate": _listener(0, Certificates=[{"CertificateArn": CERT + "0"}]),
    "listener 443 SSL policy": _listener(0, SslPolicy="ELBSecurityPolicy-2016-08"),
    "listener 443 default actions": _listener(0, DefaultActions=[as_aws(forward("web-blue"))]),
    "listener 9000 default actions": _listener(2, DefaultActions=[as_aws(forward("web-blue"))]),
    "listener 80 default actions": _listener(1, DefaultActions=[as_aws(dict(REDIRECT, RedirectConfig=dict(
        REDIRECT["RedirectConfig"], StatusCode="HTTP_302")))]),
    "listener 443 rules": _rule(0, 0, Priority="11"),
    "listener 9000 rules": _rule(2, 0, Actions=[as_aws(forward("api-blue"))]),
}


@pytest.mark.parametrize("expected", sorted(LISTENER_DRIFT))
def test_each_listener_drift_is_named_and_the_module_would_change_it_too(expected):
    desired = desired_listeners()
    lb, listeners = api_state(desired)
    LISTENER_DRIFT[expected](lb, listeners, desired)
    assert module_changes(listeners, desired) != []
    assert drift(lb, listeners, desired=desired) == [expected]


RULE_DRIFT = {
    "another secret": lambda rules: rules[0]["Conditions"][1]["HttpHeaderConfig"].update(Values=["other"]),
    "another header": lambda rules: rules[0]["Conditions"][1]["HttpHeaderConfig"].update(HttpHeaderName="X-Other"),
    "another path": lambda rules: rules[0]["Conditions"][0].update(Values=["/v2/*"]),
    "weights split": lambda rules: rules[0].update(Actions=[as_aws(weighted(("api-blue", 90), ("api-green", 10)))]),
    "a rule of someone else's": lambda rules: rules.insert(0, dict(copy.deepcopy(rules[0]), Priority="5", RuleArn="x")),
    "a rule missing": lambda rules: rules.pop(1),
    "a fixed response instead": lambda rules: rules[1].update(Actions=[as_aws(REFUSAL)]),
}


@pytest.mark.parametrize("case", sorted(RULE_DRIFT))
def test_rule_drift_on_the_production_listener_is_named_without_the_secret(case):
    desired = desired_listeners()
    lb, listeners = api_state(desired)
    RULE_DRIFT[case](listeners[0]["Rules"])
    assert module_changes(listeners, desired) != []
    found = drift(lb, listeners, desired=desired)
    assert found == ["listener 443 rules"]
    assert SECRET not in repr(found)


def test_listeners_to_create_and_to_delete():
    desired = desired_listeners()
    lb, listeners = api_state(desired)
    assert drift(lb, listeners[:2], desired=desired) == ["listener 9000 to create"]
    extra = dict(copy.deepcopy(listeners[2]), Port=9001, ListenerArn="arn:listener/9")
    assert drift(lb, [*listeners, extra], desired=desired) == ["listener 9001 to delete"]
    assert module_changes([*listeners, extra], desired) != []


def test_what_it_cannot_compare_it_leaves_to_the_module():
    desired = desired_listeners()
    lb, listeners = api_state(desired)
    oidc = {"Type": "authenticate-oidc", "AuthenticateOidcConfig": {"Issuer": "https://idp", "ClientId": "c"}}
    assert drift(lb, listeners, desired=[dict(desired[0], DefaultActions=[oidc, forward("web-blue")]), *desired[1:]]) \
        == ["listener 443 not compared here"]
    assert drift(lb, listeners, desired=[dict(desired[0], AlpnPolicy="HTTP2Only"), *desired[1:]]) \
        == ["listener 443 not compared here"]
    assert drift(lb, listeners, desired_lb=dict(DESIRED, ip_address_type="dualstack"), desired=desired) \
        == ["arguments not compared here: ip_address_type"]
    broken = as_info(lb, listeners)
    del broken["listeners"][0]["protocol"]
    assert alb.alb_drift(broken, dict(DESIRED, listeners=desired)) == ["not compared here (KeyError)"]
    assert alb.alb_drift({}, dict(DESIRED, listeners=desired)) == ["the load balancer does not exist"]
