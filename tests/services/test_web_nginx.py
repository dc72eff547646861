"""The web tier through a real nginx (our config, rendered by our entrypoint)
proxying to the real API under granian."""

from __future__ import annotations

import re
import subprocess

import requests
from svc_helpers import WEB_DIR, assert_error

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}


def asset_paths(web):
    html = requests.get(web.url + "/").text
    return re.findall(r'(?:src|href)="(/assets/[^"]+)"', html)


def test_healthz_answered_by_nginx(web):
    r = requests.get(web.url + "/healthz")
    assert r.status_code == 200 and r.json() == {"status": "ok"}


def test_index_is_no_cache_with_security_headers(web):
    r = requests.get(web.url + "/")
    assert r.status_code == 200
    assert '<div id="root">' in r.text
    assert r.headers["Cache-Control"] == "no-cache"
    for name, value in SECURITY_HEADERS.items():
        assert r.headers[name] == value
    assert "default-src 'self'" in r.headers["Content-Security-Policy"]
    assert r.headers["Server"] == "nginx"  # no version (server_tokens off)


def test_spa_fallback_serves_index(web):
    r = requests.get(web.url + "/items/42/edit")
    assert r.status_code == 200
    assert '<div id="root">' in r.text
    assert r.headers["Cache-Control"] == "no-cache"


def test_hashed_assets_long_cache_and_gzip(web):
    paths = asset_paths(web)
    assert any(p.endswith(".js") for p in paths) and any(
        p.endswith(".css") for p in paths
    )
    for path in paths:
        r = requests.get(web.url + path, headers={"Accept-Encoding": "gzip"})
        assert r.status_code == 200
        assert r.headers["Cache-Control"] == "public, max-age=31536000, immutable"
        assert r.headers["Content-Encoding"] == "gzip"
        assert r.headers["X-Content-Type-Options"] == "nosniff"
    js = next(p for p in paths if p.endswith(".js"))
    assert (
        requests.get(web.url + js).headers["Content-Type"] == "application/javascript"
    )


def test_missing_asset_is_404_not_index(web):
    r = requests.get(web.url + "/assets/nope-123.js")
    assert r.status_code == 404


def test_api_proxied_with_request_id(web, api):
    r = requests.get(web.url + "/api/version", headers={"X-Request-ID": "via-nginx-1"})
    assert r.status_code == 200
    assert r.json()["colour"] == "green"
    assert r.headers["X-Request-ID"] == "via-nginx-1"
    # nginx generates an id when none is given, and the API sees the same one
    r2 = requests.get(web.url + "/api/health")
    rid = r2.headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", rid)
    assert api.json_log_where(lambda e: e.get("request_id") == rid), api.log_lines()[-5:]
    assert web.json_log_where(lambda e: e.get("logger") == "nginx.access" and e.get("request_id") == rid)
    api_ids = {e.get("request_id") for e in api.json_logs()}
    assert {"via-nginx-1", rid} <= api_ids
    nginx_lines = [e for e in web.json_logs() if e.get("logger") == "nginx.access"]
    logged = {e["request_id"]: e for e in nginx_lines}
    assert logged["via-nginx-1"]["status"] == 200
    assert logged["via-nginx-1"]["path"] == "/api/version"
    assert logged["via-nginx-1"]["upstream"].startswith("127.0.0.1:")
    assert rid in logged


def test_api_errors_pass_through_unchanged(web):
    err = assert_error(requests.get(web.url + "/api/items/424242"), 404, "not_found")
    assert "424242" in err["message"]
    assert_error(requests.post(web.url + "/api/items", json={"name": 1}), 422)


def test_api_crud_through_proxy_uses_keepalive(web, api):
    s = requests.Session()
    for i in range(5):
        r = s.post(web.url + "/api/items", json={"name": f"via-proxy-{i}"})
        assert r.status_code == 201
        assert s.delete(web.url + f"/api/items/{r.json()['id']}").status_code == 204
    # nginx keeps upstream connections open: far fewer TCP peers than requests
    out = subprocess.run(
        ["ss", "-Htn", "state", "established", f"( sport = :{api.port} )"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    assert 1 <= len(out.strip().splitlines()) <= 4, out


def test_too_large_body_rejected_by_nginx_as_json(web):
    r = requests.post(
        web.url + "/api/items",
        data=b"x" * 100_000,
        headers={"Content-Type": "application/json"},
    )
    assert_error(r, 413, "payload_too_large")


def test_api_down_gives_json_503(nginx_factory, api_factory):
    api = api_factory()
    web = nginx_factory(f"127.0.0.1:{api.port}")
    assert requests.get(web.url + "/api/health").status_code == 200
    api.stop()
    r = requests.get(web.url + "/api/items", headers={"X-Request-ID": "down-1"})
    err = assert_error(r, 503, "upstream_unavailable")
    assert err["request_id"] == "down-1"
    assert r.headers["Cache-Control"] == "no-store"
    # static content and nginx's own health are unaffected
    assert requests.get(web.url + "/healthz").status_code == 200
    assert requests.get(web.url + "/").status_code == 200


def test_entrypoint_rejects_bad_upstream(svc_tmp):
    env = {
        "PATH": "/usr/sbin:/usr/bin:/bin",
        "API_UPSTREAM": "no port here",
        "NGINX_TMP": str(svc_tmp),
        "TEMPLATE_DIR": str(WEB_DIR / "nginx"),
    }
    proc = subprocess.run(
        [str(WEB_DIR / "docker-entrypoint.sh")],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=10,
    )
    assert proc.returncode == 2 and "API_UPSTREAM" in proc.stderr
    env.pop("API_UPSTREAM")
    proc = subprocess.run(
        [str(WEB_DIR / "docker-entrypoint.sh")],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=10,
    )
    assert proc.returncode != 0 and "API_UPSTREAM" in proc.stderr
