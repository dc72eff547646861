"""The API with its DynamoDB store (ITEMS_TABLE): the real API server (granian), real boto3, the
real local endpoint (moto's server + localaws patches) serving DynamoDB.

The key HTTP behaviour tests of test_api_http / test_api_bad_inputs /
test_api_shutdown / test_api_schemathesis are imported below and run here a
second time: this module's ``api`` and ``api_factory`` fixtures (which
override the conftest ones) start the API on a fresh table, so the very same
assertions hold for both stores.
"""

from __future__ import annotations

import sys
import threading
import uuid
from pathlib import Path

import boto3
import pytest
import requests
from svc_helpers import API_COMMAND, API_DIR, Server, assert_error, start_api

# Re-run against the DynamoDB store (collected in this module, with its fixtures).
from test_api_bad_inputs import (  # noqa: F401
    seeded,
    test_bad_input_rejected_and_store_unchanged,
    test_chunked_huge_body_rejected,
)
from test_api_http import (  # noqa: F401
    test_items_crud_roundtrip,
    test_pagination,
    test_unknown_route_and_method_are_json_errors,
)
from test_api_schemathesis import test_schemathesis_all_checks_against_api  # noqa: F401
from test_api_shutdown import test_sigterm_drains_then_finishes_in_flight_requests  # noqa: F401

REGION = "us-east-1"


@pytest.fixture(scope="module")
def ddb_env(endpoint_server) -> dict:
    """What the API process needs to reach the endpoint (the session's real
    local endpoint from tests/conftest.py): endpoint URL, region, credentials."""
    return endpoint_server.environment(REGION)


@pytest.fixture(scope="module")
def ddb(ddb_env):
    return boto3.session.Session(
        aws_access_key_id=ddb_env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=ddb_env["AWS_SECRET_ACCESS_KEY"],
        aws_session_token=ddb_env["AWS_SESSION_TOKEN"],
        region_name=REGION,
    ).client("dynamodb", endpoint_url=ddb_env["AWS_ENDPOINT_URL"])


@pytest.fixture(scope="module")
def new_table(ddb):
    """Create a fresh table with the key schema the store (and the data role) use."""
    created: list[str] = []

    def create() -> str:
        name = f"items-{uuid.uuid4().hex[:10]}"
        ddb.create_table(
            TableName=name,
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "id", "AttributeType": "N"},
            ],
            KeySchema=[
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "id", "KeyType": "RANGE"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        ddb.get_waiter("table_exists").wait(TableName=name)
        created.append(name)
        return name

    yield create
    for name in created:
        ddb.delete_table(TableName=name)


def _dynamo_api(tmp: Path, ddb_env: dict, table: str, **env) -> Server:
    return start_api(tmp, ITEMS_TABLE=table, **ddb_env, **env)


@pytest.fixture
def api_factory(svc_tmp, ddb_env, new_table):
    """Like conftest's, on the DynamoDB store: a fresh table per call unless
    ``table=`` names one (then several servers share it)."""
    servers: list[Server] = []

    def factory(table: str | None = None, **env) -> Server:
        server = _dynamo_api(svc_tmp, ddb_env, table or new_table(), **env)
        servers.append(server)
        return server

    yield factory
    for server in servers:
        server.stop()


@pytest.fixture(scope="module")
def api(svc_root, ddb_env, new_table) -> Server:
    tmp = svc_root / f"api-dynamodb-{uuid.uuid4().hex[:8]}"
    tmp.mkdir(mode=0o755)
    server = _dynamo_api(tmp, ddb_env, new_table())
    yield server
    server.stop()


def _create(srv: Server, name: str) -> dict:
    r = requests.post(srv.url + "/api/items", json={"name": name}, timeout=10)
    assert r.status_code == 201, r.text
    return r.json()


def _all(srv: Server) -> list[dict]:
    r = requests.get(srv.url + "/api/items", params={"limit": 100}, timeout=10)
    assert r.status_code == 200, r.text
    return r.json()["items"]


def _worker_pids(master_pid: int) -> set[int]:
    pids = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(") ", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == master_pid:
            pids.add(int(stat.parent.name))
    return pids


def test_items_are_stored_in_the_table(api, ddb):
    item = _create(api, "in the table")
    table = api.env["ITEMS_TABLE"]
    got = ddb.get_item(
        TableName=table, Key={"pk": {"S": "item"}, "id": {"N": str(item["id"])}}
    )["Item"]
    assert got["name"] == {"S": "in the table"}
    assert got["created_at"] == {"S": item["created_at"]}
    r = requests.delete(api.url + f"/api/items/{item['id']}", timeout=10)
    assert r.status_code == 204
    assert "Item" not in ddb.get_item(
        TableName=table, Key={"pk": {"S": "item"}, "id": {"N": str(item["id"])}}
    )


def test_two_api_processes_share_the_items(api_factory, new_table):
    table = new_table()
    one, two = api_factory(table), api_factory(table)
    a = _create(one, "from one")
    b = _create(two, "from two")
    assert b["id"] > a["id"]  # one id counter for every process
    assert _all(one) == _all(two) == [a, b]
    r = requests.put(two.url + f"/api/items/{a['id']}", json={"name": "renamed"})
    assert r.status_code == 200
    assert requests.get(one.url + f"/api/items/{a['id']}").json()["name"] == "renamed"
    assert requests.delete(one.url + f"/api/items/{b['id']}").status_code == 204
    assert_error(requests.get(two.url + f"/api/items/{b['id']}"), 404, "not_found")
    assert_error(requests.delete(two.url + f"/api/items/{b['id']}"), 404, "not_found")
    assert [i["id"] for i in _all(two)] == [a["id"]]


def test_concurrent_creates_through_two_processes_get_unique_ids(api_factory, new_table):
    table = new_table()
    servers = [api_factory(table), api_factory(table)]
    made: list[int] = []
    errors: list[str] = []

    def create(n: int) -> None:
        srv = servers[n % 2]
        r = requests.post(srv.url + "/api/items", json={"name": f"c{n}"}, timeout=20)
        if r.status_code == 201:
            made.append(r.json()["id"])
        else:
            errors.append(r.text)

    threads = [threading.Thread(target=create, args=(n,)) for n in range(24)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    assert len(made) == len(set(made)) == 24
    listed = _all(servers[1])
    assert sorted(made) == [i["id"] for i in listed]  # listed in id order
    count = requests.get(servers[0].url + "/api/_test/count").json()["count"]
    assert count == 24


def test_items_survive_an_api_restart(api_factory, new_table):
    table = new_table()
    first = api_factory(table)
    kept = [_create(first, "kept"), _create(first, "also kept")]
    assert first.stop() == 0
    second = api_factory(table)
    assert _all(second) == kept
    newer = _create(second, "after restart")
    assert newer["id"] > kept[-1]["id"]  # ids are never reused


def test_max_items_holds_across_processes(api_factory, new_table):
    table = new_table()
    one, two = api_factory(table, MAX_ITEMS="3"), api_factory(table, MAX_ITEMS="3")
    first = _create(one, "a")
    _create(two, "b")
    _create(one, "c")
    full = requests.post(two.url + "/api/items", json={"name": "d"})
    assert_error(full, 409, "store_full")
    assert requests.delete(two.url + f"/api/items/{first['id']}").status_code == 204
    _create(one, "d")
    assert len(_all(two)) == 3


def test_missing_table_is_a_503_json_error(svc_tmp, ddb_env):
    srv = _dynamo_api(svc_tmp, ddb_env, "no-such-table")
    try:
        assert requests.get(srv.url + "/api/health").status_code == 200
        err = assert_error(requests.get(srv.url + "/api/items"), 503, "unavailable")
        assert err["message"] == "item store unavailable"
        assert_error(
            requests.post(srv.url + "/api/items", json={"name": "x"}), 503, "unavailable"
        )
        logged = [e for e in srv.json_logs() if e.get("msg") == "store unavailable"]
        assert logged and "ResourceNotFoundException" in logged[0]["exc"]
    finally:
        srv.stop()


def test_workers_follow_the_store(api_factory, svc_tmp):
    dynamo = api_factory(WORKERS="3")
    assert len(_worker_pids(dynamo.proc.pid)) == 3
    assert any("store dynamodb:" in e.get("msg", "") and "3 worker(s)" in e["msg"]
               for e in dynamo.json_logs())
    # sized to the CPUs this process may use when WORKERS is not set
    sized = api_factory()
    sys.path.insert(0, str(API_DIR))
    from seedapi.workers import available_cpus

    assert len(_worker_pids(sized.proc.pid)) == available_cpus({})
    # the in-memory store always runs one worker
    memory = start_api(svc_tmp)
    try:
        assert len(_worker_pids(memory.proc.pid)) == 1
        assert any("store memory, 1 worker(s)" in e.get("msg", "") for e in memory.json_logs())
    finally:
        memory.stop()


def test_workers_without_a_table_is_a_config_error(svc_tmp):
    import subprocess

    proc = subprocess.run(
        API_COMMAND,
        cwd=API_DIR,
        env={"PATH": "/usr/bin:/bin", "WORKERS": "2"},
        capture_output=True,
        text=True,
        check=False,
        timeout=20,
    )
    assert proc.returncode == 2
    assert "WORKERS=2 needs ITEMS_TABLE" in proc.stderr


def test_table_without_region_is_a_config_error():
    sys.path.insert(0, str(API_DIR))
    from seedapi import ConfigError, load_config

    with pytest.raises(ConfigError) as exc:
        load_config({"ITEMS_TABLE": "items"})
    assert "AWS_REGION" in str(exc.value)
    with pytest.raises(ConfigError, match="ITEMS_TABLE"):
        load_config({"ITEMS_TABLE": "a b", "AWS_REGION": REGION})
    assert load_config({"ITEMS_TABLE": "items", "AWS_DEFAULT_REGION": REGION}).aws_region == REGION


@pytest.mark.parametrize(
    ("files", "cpus"),
    [
        ({"cpu.max": "50000 100000\n"}, 1),  # Fargate-like 0.5 vCPU
        ({"cpu.max": "150000 100000\n"}, 2),
        ({"cpu.max": "max 100000\n"}, None),
        ({"cpu/cpu.cfs_quota_us": "200000\n", "cpu/cpu.cfs_period_us": "100000\n"}, 2),
        ({"cpu/cpu.cfs_quota_us": "-1\n", "cpu/cpu.cfs_period_us": "100000\n"}, None),
        ({}, None),
    ],
)
def test_cgroup_cpu_quota(svc_tmp, files, cpus):
    sys.path.insert(0, str(API_DIR))
    from seedapi.workers import _cgroup_cpus

    for rel, text in files.items():
        (svc_tmp / rel).parent.mkdir(parents=True, exist_ok=True)
        (svc_tmp / rel).write_text(text)
    assert _cgroup_cpus(svc_tmp) == cpus
