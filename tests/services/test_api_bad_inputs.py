"""Bad inputs get a 4xx JSON error of the one stable shape and change nothing."""

from __future__ import annotations

import json
import socket

import pytest
import requests
from svc_helpers import assert_error

JSON = {"Content-Type": "application/json"}


@pytest.fixture(scope="module")
def seeded(api):
    """Two known items; the store snapshot is compared after every bad request."""
    for name in ("alpha", "beta"):
        requests.post(api.url + "/api/items", json={"name": name}).raise_for_status()
    return api


def snapshot(api):
    listed = requests.get(api.url + "/api/items", params={"limit": 100}).json()
    count = requests.get(api.url + "/api/_test/count").json()["count"]
    return listed, count


def first_id(api):
    return requests.get(api.url + "/api/items").json()["items"][0]["id"]


BAD = [
    # (id, method, path, kwargs, status, code)
    (
        "malformed-json",
        "POST",
        "/api/items",
        {"data": b"{not json", "headers": JSON},
        400,
        "bad_request",
    ),
    (
        "empty-body",
        "POST",
        "/api/items",
        {"data": b"", "headers": JSON},
        400,
        "bad_request",
    ),
    (
        "not-utf8",
        "POST",
        "/api/items",
        {"data": b'{"name": "\xff\xfe"}', "headers": JSON},
        400,
        "bad_request",
    ),
    (
        "json-array",
        "POST",
        "/api/items",
        {"json": [{"name": "x"}]},
        422,
        "validation_failed",
    ),
    ("json-string", "POST", "/api/items", {"json": "name"}, 422, "validation_failed"),
    (
        "name-wrong-type",
        "POST",
        "/api/items",
        {"json": {"name": 42}},
        422,
        "validation_failed",
    ),
    (
        "name-null",
        "POST",
        "/api/items",
        {"json": {"name": None}},
        422,
        "validation_failed",
    ),
    (
        "name-missing",
        "POST",
        "/api/items",
        {"json": {"description": "x"}},
        422,
        "validation_failed",
    ),
    (
        "name-blank",
        "POST",
        "/api/items",
        {"json": {"name": "   "}},
        422,
        "validation_failed",
    ),
    (
        "name-too-long",
        "POST",
        "/api/items",
        {"json": {"name": "x" * 101}},
        422,
        "validation_failed",
    ),
    (
        "description-wrong-type",
        "POST",
        "/api/items",
        {"json": {"name": "ok", "description": ["x"]}},
        422,
        "validation_failed",
    ),
    (
        "unknown-field",
        "POST",
        "/api/items",
        {"json": {"name": "ok", "admin": True}},
        422,
        "validation_failed",
    ),
    (
        "huge-body",
        "POST",
        "/api/items",
        {
            "data": json.dumps({"name": "x", "description": "y" * 200_000}),
            "headers": JSON,
        },
        413,
        "payload_too_large",
    ),
    (
        "wrong-content-type",
        "POST",
        "/api/items",
        {"data": b'{"name": "x"}', "headers": {"Content-Type": "text/plain"}},
        415,
        "unsupported_media_type",
    ),
    (
        "form-encoded",
        "POST",
        "/api/items",
        {"data": {"name": "x"}},
        415,
        "unsupported_media_type",
    ),
    (
        "put-unknown-id",
        "PUT",
        "/api/items/987654",
        {"json": {"name": "x"}},
        404,
        "not_found",
    ),
    (
        "put-invalid-body",
        "PUT",
        "/api/items/{first}",
        {"json": {"name": ""}},
        422,
        "validation_failed",
    ),
    (
        "put-malformed-json",
        "PUT",
        "/api/items/{first}",
        {"data": b"[", "headers": JSON},
        400,
        "bad_request",
    ),
    ("delete-unknown-id", "DELETE", "/api/items/987654", {}, 404, "not_found"),
    ("delete-non-integer-id", "DELETE", "/api/items/abc", {}, 404, "not_found"),
    ("delete-negative-id", "DELETE", "/api/items/-1", {}, 404, "not_found"),
    ("get-huge-id", "GET", "/api/items/" + "9" * 40, {}, 404, "not_found"),
    ("list-bad-limit", "GET", "/api/items?limit=ten", {}, 400, "bad_request"),
    ("list-negative-offset", "GET", "/api/items?offset=-5", {}, 400, "bad_request"),
    (
        "patch-not-allowed",
        "PATCH",
        "/api/items/{first}",
        {"json": {"name": "x"}},
        405,
        "method_not_allowed",
    ),
    (
        "post-on-item",
        "POST",
        "/api/items/{first}",
        {"json": {"name": "x"}},
        405,
        "method_not_allowed",
    ),
]


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status", "code"),
    [case[1:] for case in BAD],
    ids=[case[0] for case in BAD],
)
def test_bad_input_rejected_and_store_unchanged(
    seeded, method, path, kwargs, status, code
):
    before = snapshot(seeded)
    path = path.replace("{first}", str(first_id(seeded)))
    resp = requests.request(method, seeded.url + path, timeout=10, **kwargs)
    assert_error(resp, status, code)
    assert snapshot(seeded) == before


def test_chunked_huge_body_rejected(seeded):
    before = snapshot(seeded)

    def chunks():
        yield b'{"name": "x", "description": "'
        for _ in range(100):
            yield b"y" * 4096
        yield b'"}'

    resp = requests.post(
        seeded.url + "/api/items", data=chunks(), headers=JSON, timeout=10
    )
    assert_error(resp, 413, "payload_too_large")
    assert snapshot(seeded) == before


def test_server_survives_lying_content_length(seeded):
    """A client that sends less body than announced and hangs up breaks nothing."""
    before = snapshot(seeded)
    with socket.create_connection(("127.0.0.1", seeded.port), timeout=5) as s:
        s.sendall(
            b"POST /api/items HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b'Content-Length: 100\r\n\r\n{"name":'
        )
    assert requests.get(seeded.url + "/api/health").status_code == 200
    assert snapshot(seeded) == before


def test_protocol_errors_use_the_same_json_shape(seeded):
    """A request line or header line over the limits is answered before routing, in the same JSON shape."""
    before = snapshot(seeded)
    resp = requests.get(seeded.url + "/api/items?offset=" + "9" * 9000, timeout=10)
    err = assert_error(resp, 414, "uri_too_long")
    assert err["message"].startswith("URI Too Long")
    resp = requests.get(seeded.url + "/api/items", headers={"X-Big": "x" * 9000})
    assert_error(resp, 431, "headers_too_large")
    assert snapshot(seeded) == before
