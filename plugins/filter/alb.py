# Copyright: seed.fargate contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What amazon.aws.elb_application_lb would change on a load balancer, worked out from what the alb role read.

A no-op converge read the load balancer with its attributes, tags, listeners and rules just before (5 + 1 calls);
the stock module reads all of it again, twice (13 calls and a module run, 0.7 s at 40 ms per call). The alb role runs
the module only when :func:`alb_drift` finds something the module would change. The comparisons are the module's
own (amazon.aws ``module_utils/elbv2.py``: ``compare_subnets``, ``compare_security_groups``,
``compare_elb_attributes``, ``compare_aws_tags``, ``_group_listeners`` / ``_compare_listener`` and ``_group_rules``
/ ``_compare_rule``, ported to the data the info module returns); where they would not decide (an action type or an
argument the role does not use) the answer is "differs", so the module runs and decides.
tests/unit/plugins/filter/test_alb_drift.py checks the port against the installed amazon.aws functions.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping

from ansible.module_utils.parsing.convert_bool import boolean


def _flag(value):
    return str(boolean(value)).lower()


# elb_application_lb argument -> (load balancer attribute as the info module names it, its form in the attribute)
_ATTRIBUTES = {
    "access_logs_enabled": ("access_logs_s3_enabled", _flag),
    "access_logs_s3_bucket": ("access_logs_s3_bucket", str),
    "access_logs_s3_prefix": ("access_logs_s3_prefix", str),
    "deletion_protection": ("deletion_protection_enabled", _flag),
    "idle_timeout": ("idle_timeout_timeout_seconds", lambda v: str(int(v))),
    "http_drop_invalid_header_fields": ("routing_http_drop_invalid_header_fields_enabled", _flag),
}
_ARGUMENTS = {"subnets", "security_groups", "tags", "listeners", *_ATTRIBUTES}
_LISTENER_KEYS = {"Protocol", "Port", "Certificates", "SslPolicy", "DefaultActions", "Rules"}
_ACTION_TYPES = {"forward", "fixed-response", "redirect"}  # authenticate-*: the module decides
# what elbv2.py _compare_listener compares of a default action, and how it orders them (_sort_listener_actions)
_DEFAULT_ACTION_KEYS = ("AuthenticateOidcConfig", "FixedResponseConfig", "RedirectConfig", "TargetGroupArn", "Type")
_CONDITION_CONFIGS = ("HostHeaderConfig", "HttpHeaderConfig", "HttpRequestMethodConfig", "SourceIpConfig",
                      "PathPatternConfig")


def _plain(value, camel=False):
    """``value`` as plain dicts and lists (a template's lazy containers are neither to copy nor to rebuild); with
    ``camel``, keys from the info module's snake_case back to the API's (ansible's snake_dict_to_camel_dict)."""
    if isinstance(value, Mapping):
        return {("".join(part.capitalize() or "_" for part in key.split("_")) if camel else key): _plain(item, camel)
                for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item, camel) for item in value]
    return value


def _simple_forward_arn(config, parent_arn):
    """elbv2.py _simple_forward_config_arn: the one target group a ForwardConfig sends to, or None."""
    config = copy.deepcopy(config)
    if config.pop("TargetGroupStickinessConfig", {"Enabled": False}) != {"Enabled": False}:
        return None
    groups = config.pop("TargetGroups", [])
    if config or len(groups) > 1:
        return None
    if not groups:
        return parent_arn
    group = groups[0]
    group.pop("Weight", None)
    arn = group.pop("TargetGroupArn", None)
    if group or not (arn or parent_arn):
        return None
    if parent_arn and arn and parent_arn != arn:
        return None
    return arn or parent_arn


def _pruned(action):
    """elbv2.py _prune_ForwardConfig: a forward's redundant ForwardConfig dropped."""
    if action.get("Type") != "forward" or "ForwardConfig" not in action:
        return action
    arn = _simple_forward_arn(action["ForwardConfig"], action.get("TargetGroupArn"))
    if not arn:
        return action
    return {**{k: v for k, v in action.items() if k != "ForwardConfig"}, "TargetGroupArn": arn}


def _actions_equal(current, new):
    """elbv2.py _compare_rule_actions, for the action types the role uses."""
    if len(current) != len(new):
        return False
    return [_pruned(a) for a in _by_order(current)] == [_pruned(a) for a in _by_order(new)]


def _by_order(actions):
    return sorted(actions, key=lambda a: a.get("Order", 0))


def _condition_found(current_conditions, condition):
    """elbv2.py _check_rule_condition: ``condition`` is among the current ones."""
    wanted = copy.deepcopy(condition)
    for key in _CONDITION_CONFIGS:
        if key in wanted:
            wanted[key]["Values"] = sorted(wanted[key]["Values"])
    if "Values" in wanted:
        wanted["Values"] = sorted(wanted["Values"])
    for current in current_conditions:
        if current["Field"] != wanted["Field"]:
            continue
        if current.get("HostHeaderConfig") and wanted.get("HostHeaderConfig"):
            found = sorted(current["HostHeaderConfig"]["Values"]) == wanted["HostHeaderConfig"]["Values"]
        elif current.get("HttpHeaderConfig"):
            found = (sorted(current["HttpHeaderConfig"]["Values"]) == wanted["HttpHeaderConfig"]["Values"]
                     and current["HttpHeaderConfig"]["HttpHeaderName"] == wanted["HttpHeaderConfig"]["HttpHeaderName"])
        elif current.get("HttpRequestMethodConfig"):
            found = sorted(current["HttpRequestMethodConfig"]["Values"]) == wanted["HttpRequestMethodConfig"]["Values"]
        elif current.get("PathPatternConfig") and wanted.get("PathPatternConfig"):
            found = sorted(current["PathPatternConfig"]["Values"]) == wanted["PathPatternConfig"]["Values"]
        elif current.get("QueryStringConfig"):
            found = current["QueryStringConfig"]["Values"] == wanted["QueryStringConfig"]["Values"]
        elif current.get("SourceIpConfig"):
            found = sorted(current["SourceIpConfig"]["Values"]) == wanted["SourceIpConfig"]["Values"]
        else:
            found = sorted(current["Values"]) == wanted["Values"]
        if found:
            return True
    return False


def _rule_changes(current, new):
    """elbv2.py _compare_rule: the names of what differs."""
    changes = []
    if int(current["Priority"]) != int(new["Priority"]):
        changes.append("Priority")
    if not _actions_equal(current["Actions"], new["Actions"]):
        changes.append("Actions")
    if any(not _condition_found(current["Conditions"], c) for c in new["Conditions"]):
        changes.append("Conditions")
    return changes


def _rules_in_sync(current_rules, rules):
    """elbv2.py _group_rules with purge_rules, given a listener's rules but its default one: True when it has no rule
    to add, reorder, modify or delete."""
    to_add = list(rules)
    for current in current_rules:
        # the module pairs a rule with the first one it would keep or only reorder; kept, the pair leaves the running;
        # reordered, unpaired (deleted) or changed is a change
        match, changes = None, None
        for new in to_add:
            changes = _rule_changes(current, new)
            if changes in ([], ["Priority"]):
                match = new
                break
        if match is None or changes:
            return False
        to_add.remove(match)
    return not to_add


def _listener_changes(current, new):
    """elbv2.py _compare_listener: the names of what differs."""
    changes = []
    if current["Protocol"] != new["Protocol"]:
        changes.append("protocol")
    if new["Protocol"] in ("HTTPS", "TLS"):
        if new.get("SslPolicy") and current.get("SslPolicy") != new["SslPolicy"]:
            changes.append("SSL policy")
        certificates = current.get("Certificates")
        if new.get("Certificates") and (not certificates
                                        or certificates[0]["CertificateArn"] != new["Certificates"][0]["CertificateArn"]):
            changes.append("certificate")
    current_actions, new_actions = current.get("DefaultActions"), new.get("DefaultActions")
    if new_actions and (not current_actions or len(current_actions) != len(new_actions)
                        or _by_content([{k: v for k, v in a.items() if k in _DEFAULT_ACTION_KEYS} for a in current_actions])
                        != _by_content(new_actions)):
        changes.append("default actions")
    return changes


def _by_content(actions):
    return sorted(actions, key=lambda a: json.dumps([a.get(k) for k in _DEFAULT_ACTION_KEYS], sort_keys=True))


def _types(actions):
    return {a.get("Type") for a in actions or []}


def alb_drift(current, desired):
    """What amazon.aws.elb_application_lb, given ``desired`` (its arguments: subnets, security_groups, the six
    attributes the alb role sets, tags with purge_tags, listeners with purge_listeners and purge_rules, or no
    listeners to leave them as they are), would change on ``current`` (one load balancer as
    amazon.aws.elb_application_lb_info returns it with attributes, listeners and rules); empty when nothing. Names
    what differs, never a value (the rules may hold a secret)."""
    if not current:
        return ["the load balancer does not exist"]
    unknown = sorted(set(desired) - _ARGUMENTS)
    if unknown:
        return [f"arguments not compared here: {', '.join(unknown)}"]
    try:
        return _drift(_plain(current), _plain(desired))
    except (KeyError, TypeError, ValueError, AttributeError) as error:  # a shape the module's comparisons do not expect
        return [f"not compared here ({type(error).__name__})"]  # the module decides (and says what is wrong)


def _drift(current, desired):
    drift = []
    zones = current.get("availability_zones") or []
    if any("allocation_id" in address for zone in zones for address in zone.get("load_balancer_addresses") or []) \
            or {z.get("subnet_id") for z in zones} != set(desired["subnets"]):
        drift.append("subnets")
    if set(current.get("security_groups") or []) != set(desired["security_groups"]):
        drift.append("security groups")
    for argument, (attribute, form) in _ATTRIBUTES.items():
        if desired.get(argument) is not None and current.get(attribute) != form(desired[argument]):
            drift.append(f"attribute {attribute}")
    tags = {k: v for k, v in (current.get("tags") or {}).items() if not k.startswith("aws:")}
    if tags != {k: str(v) for k, v in (desired.get("tags") or {}).items()}:
        drift.append("tags")
    if desired.get("listeners") is None:
        return drift
    listeners = {int(listener["Port"]): listener for listener in desired["listeners"]}
    now = {}
    for listener in current.get("listeners") or []:
        camel = _plain(listener, camel=True)
        now[int(camel["Port"])] = camel
    for port in sorted(set(now) - set(listeners)):
        drift.append(f"listener {port} to delete")
    for port, new in sorted(listeners.items()):
        if port not in now:
            drift.append(f"listener {port} to create")
            continue
        if set(new) - _LISTENER_KEYS or not _types(new.get("DefaultActions")) <= _ACTION_TYPES:
            drift.append(f"listener {port} not compared here")
            continue
        drift.extend(f"listener {port} {change}" for change in _listener_changes(now[port], new))
        if "Rules" in new:
            rules = [rule for rule in now[port].get("Rules") or [] if not rule.get("IsDefault", False)]
            if not all(_types(r.get("Actions")) <= _ACTION_TYPES for r in rules + new["Rules"]):
                drift.append(f"listener {port} rules not compared here")
            elif not _rules_in_sync(rules, new["Rules"]):
                drift.append(f"listener {port} rules")
    return drift


class FilterModule:
    def filters(self):
        return {"alb_drift": alb_drift}
