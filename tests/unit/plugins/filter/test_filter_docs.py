"""Every filter the collection registers has its documentation file, and what the docs promise holds."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest
import yaml

FILTERS = Path(__file__).resolve().parents[4] / "plugins" / "filter"
sys.path.insert(0, str(FILTERS))


def registered() -> dict:
    names = {}
    for plugin in sorted(FILTERS.glob("*.py")):
        names.update(importlib.import_module(plugin.stem).FilterModule().filters())
    return names


@pytest.mark.parametrize("name", sorted(registered()))
def test_each_filter_has_a_doc_file_beside_its_plugin(name):
    doc = yaml.safe_load((FILTERS / f"{name}.yml").read_text())
    assert doc["DOCUMENTATION"]["name"] == name
    assert "_input" in doc["DOCUMENTATION"]["options"] and doc["EXAMPLES"] and doc["RETURN"]["_value"]["type"]
    positional = [p.strip() for p in doc["DOCUMENTATION"].get("positional", "").split(",") if p.strip()]
    assert set(positional) <= set(doc["DOCUMENTATION"]["options"])


def test_no_doc_file_without_a_filter():
    assert {p.stem for p in FILTERS.glob("*.yml")} == set(registered())


def test_the_documented_examples_hold():
    f = registered()
    assert f["subnet_cidrs"]("10.0.0.0/16", 2, "public") == ["10.0.0.0/20", "10.0.16.0/20"]
    assert f["subnet_cidrs"]("10.0.0.0/16", 2, "private") == ["10.0.128.0/20", "10.0.144.0/20"]
    assert f["overlapping_cidrs"](["10.0.0.0/24", "10.0.0.128/25", "10.0.1.0/24"]) == ["10.0.0.0/24 overlaps 10.0.0.128/25"]
    assert f["is_ipv4_cidr"]("10.0.0.0/16") and not f["is_ipv4_cidr"]("10.0.0.1/16")
    assert f["cidr_contains"]("10.0.0.0/16", "10.0.1.0/24") and not f["cidr_contains"]("10.0.0.0/16", "10.1.0.0/24")
    assert f["aws_region_problem"]("us-east-1") == "" and "not an AWS region" in f["aws_region_problem"]("mars-1")
    assert f["ecs_task_family"]("api", "seed") == "seed-api" == f["service_table_name"]({"name": "api"}, "seed")
    assert f["service_environment"]({"name": "api", "table": True, "environment": {"LOG_LEVEL": "info"}}, "seed") == {
        "LOG_LEVEL": "info", "ITEMS_TABLE": "seed-api"}
    assert f["task_volumes"]({"name": "web", "writable_paths": ["/tmp", "/var/cache/nginx"]}) == [
        {"name": "writable-tmp"}, {"name": "writable-var-cache-nginx"}]
    arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf"
    assert f["container_secrets"]({"name": "api", "secrets": {"DB_PASSWORD": {"arn": arn, "json_key": "password"}}}) == [
        {"name": "DB_PASSWORD", "valueFrom": f"{arn}:password::"}]
    errors = f["service_input_errors"]([{"name": "api", "user": "0", "environment": {"DB_PASSWORD": "x"}}])
    assert errors[0] == "api: user is uid 0 (root), got '0': containers must not run as root"
    assert errors[1].startswith("api: environment DB_PASSWORD looks like a credential and would be stored in plain text")
