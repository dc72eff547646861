"""The API through real HTTP against the real API server process (granian)."""

from __future__ import annotations

import re
import subprocess
import sys
import time

import pytest
import requests
from svc_helpers import API_COMMAND, API_DIR, assert_error


def test_health(api):
    r = requests.get(api.url + "/api/health")
    assert r.status_code == 200
    assert r.json() == {"status": "ok"}


def test_ready_when_serving(api):
    r = requests.get(api.url + "/api/ready")
    assert r.status_code == 200
    assert r.json() == {"status": "ready"}


def test_version_reports_environment(api):
    r = requests.get(api.url + "/api/version")
    assert r.status_code == 200
    body = r.json()
    assert body["version"] == "1.2.3-test"
    assert body["commit"] == "abc1234"
    assert body["colour"] == "green"
    assert body["host"]
    assert "task_id" in body
    assert r.headers["Cache-Control"] == "no-store"


def test_items_crud_roundtrip(api):
    r = requests.post(
        api.url + "/api/items", json={"name": "  widget  ", "description": "d"}
    )
    assert r.status_code == 201, r.text
    item = r.json()
    assert item["name"] == "widget"
    assert item["description"] == "d"
    assert r.headers["Location"] == f"/api/items/{item['id']}"

    r = requests.get(api.url + f"/api/items/{item['id']}")
    assert r.status_code == 200 and r.json() == item

    r = requests.put(api.url + f"/api/items/{item['id']}", json={"name": "gadget"})
    assert r.status_code == 200
    updated = r.json()
    assert updated["name"] == "gadget" and updated["description"] == ""
    assert updated["created_at"] == item["created_at"]

    listed = requests.get(api.url + "/api/items", params={"limit": 100}).json()
    assert updated in listed["items"]

    r = requests.delete(api.url + f"/api/items/{item['id']}")
    assert r.status_code == 204 and r.content == b""
    assert_error(requests.get(api.url + f"/api/items/{item['id']}"), 404, "not_found")
    assert_error(
        requests.delete(api.url + f"/api/items/{item['id']}"), 404, "not_found"
    )


def test_pagination(api_factory):
    srv = api_factory()
    ids = [
        requests.post(srv.url + "/api/items", json={"name": f"n{i}"}).json()["id"]
        for i in range(25)
    ]
    page1 = requests.get(srv.url + "/api/items").json()
    assert page1["total"] == 25 and page1["limit"] == 20 and page1["offset"] == 0
    assert [i["id"] for i in page1["items"]] == ids[:20]
    page2 = requests.get(
        srv.url + "/api/items", params={"limit": 10, "offset": 20}
    ).json()
    assert [i["id"] for i in page2["items"]] == ids[20:]
    empty = requests.get(srv.url + "/api/items", params={"offset": 1000}).json()
    assert empty["items"] == [] and empty["total"] == 25
    assert_error(
        requests.get(srv.url + "/api/items", params={"limit": 0}), 400, "bad_request"
    )
    assert_error(requests.get(srv.url + "/api/items", params={"limit": 101}), 400)


def test_request_id_echoed_and_logged(api):
    r = requests.get(api.url + "/api/health", headers={"X-Request-ID": "req-abc-123"})
    assert r.headers["X-Request-ID"] == "req-abc-123"
    generated = requests.get(api.url + "/api/version").headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", generated)
    # an unsafe id is replaced, not echoed
    bad = requests.get(api.url + "/api/health", headers={"X-Request-ID": "x" * 500})
    assert re.fullmatch(r"[0-9a-f]{32}", bad.headers["X-Request-ID"])
    time.sleep(0.2)
    access = [e for e in api.json_logs() if e.get("logger") == "seedapi.access"]
    mine = [e for e in access if e["request_id"] == "req-abc-123"]
    assert len(mine) == 1
    line = mine[0]
    assert line["method"] == "GET" and line["path"] == "/api/health"
    assert line["status"] == 200
    assert isinstance(line["duration_ms"], float)
    assert any(e["request_id"] == generated for e in access)


def test_every_log_line_is_json(api):
    requests.get(api.url + "/api/items/999999")
    time.sleep(0.2)
    lines = [ln for ln in api.log_lines() if ln.strip()]
    assert lines
    assert len(api.json_logs()) == len(lines), "non-JSON log line found"


def test_openapi_matches_routes(api):
    from seedapi import create_app, load_config

    doc = requests.get(api.url + "/api/openapi.json").json()
    assert doc["openapi"].startswith("3.")
    assert doc["info"]["version"] == "1.2.3-test"
    documented = {
        (method.upper(), path)
        for path, ops in doc["paths"].items()
        for method in ops
        if method in {"get", "post", "put", "delete", "patch"}
    }
    app = create_app(load_config({}))  # production routes: test endpoints off
    actual = {
        (r.method, re.sub(r"<(\w+):int>", r"{\1}", r.rule)) for r in app.bottle.routes
    }
    assert documented == actual
    # and each documented operation answers over HTTP (not 405)
    for method, path in documented:
        r = requests.request(method, api.url + path.replace("{item_id}", "1"))
        assert r.status_code != 405, (method, path)


def test_unknown_route_and_method_are_json_errors(api):
    assert_error(requests.get(api.url + "/api/nope"), 404, "not_found")
    err = requests.patch(api.url + "/api/items/1", json={})
    assert_error(err, 405, "method_not_allowed")
    assert "PUT" in err.headers["Allow"]


def test_ready_is_503_while_starting():
    """A lifecycle that has not been marked ready answers 503 over real HTTP."""
    import threading
    from wsgiref.simple_server import WSGIRequestHandler, make_server

    from seedapi import create_app, load_config
    from seedapi.lifecycle import Lifecycle

    class Quiet(WSGIRequestHandler):
        def log_message(self, *args):
            pass

    lifecycle = Lifecycle()
    server = make_server(
        "127.0.0.1",
        0,
        create_app(load_config({}), lifecycle=lifecycle),
        handler_class=Quiet,
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/api/ready"
        r = requests.get(url)
        assert r.status_code == 503 and r.json() == {"status": "starting"}
        lifecycle.mark_ready()
        assert requests.get(url).status_code == 200
        lifecycle.start_draining()
        r = requests.get(url)
        assert r.status_code == 503 and r.json() == {"status": "draining"}
    finally:
        server.shutdown()


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"APP_COLOUR": "purple"}, ["APP_COLOUR"]),
        ({"PORT": "http"}, ["PORT"]),
        ({"PORT": "70000", "LOG_LEVEL": "LOUD"}, ["PORT", "LOG_LEVEL"]),
        ({"APP_VERSION": "has space"}, ["APP_VERSION"]),
    ],
)
def test_bad_config_fails_fast_with_clear_error(env, expected, svc_tmp):
    full = {"PATH": "/usr/bin:/bin", **env}
    proc = subprocess.run(
        API_COMMAND,
        cwd=API_DIR,
        env=full,
        capture_output=True,
        text=True,
        check=False,
        timeout=20,
    )
    assert proc.returncode == 2
    assert "invalid configuration" in proc.stderr
    for name in expected:
        assert name in proc.stderr


def test_config_defaults():
    from seedapi import load_config

    cfg = load_config({})
    assert (cfg.port, cfg.colour, cfg.log_level) == (8000, "blue", "INFO")
    assert (
        load_config({"APP_COLOUR": " Green ", "LOG_LEVEL": "debug"}).colour == "green"
    )


def test_threads_follow_the_store():
    """One thread with the in-memory store (CPU work under the GIL), 8 with DynamoDB; THREADS wins."""
    from seedapi import load_config
    from seedapi.workers import thread_count

    table = {"ITEMS_TABLE": "items", "AWS_REGION": "eu-west-1"}
    assert thread_count(load_config({})) == 1
    assert thread_count(load_config(table)) == 8
    assert thread_count(load_config({"THREADS": "3"})) == 3
    assert thread_count(load_config({**table, "THREADS": "2"})) == 2


sys.path.insert(0, str(API_DIR))


def test_blank_means_what_the_published_schema_says(api):
    """The schema's ``pattern: \\S`` is ECMA-262: U+0085 and U+001C are not white space there,
    so such names are accepted; ECMA white space alone (U+3000, U+FEFF) is blank."""
    for name in ("\x85", "\x1c"):
        created = requests.post(api.url + "/api/items", json={"name": name}, timeout=5)
        assert created.status_code == 201, created.text
        assert created.json()["name"] == name
    blank = requests.post(api.url + "/api/items", json={"name": "\u3000\ufeff \t"}, timeout=5)
    assert_error(blank, 422, "validation_failed")
