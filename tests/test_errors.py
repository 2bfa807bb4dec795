"""The one error shape: {"error": {"code", "message", ...details}} with the right status, pinned."""
from __future__ import annotations

import pytest
from conftest import make_document, make_session

SECRET = "do-not-leak-this-internal-detail"
BODY_LIMIT = 4096


@pytest.fixture
def error_app(make_app):
    """An app with a small body limit and one route that fails the way a bug would."""
    app = make_app(MAX_CONTENT_LENGTH=BODY_LIMIT)

    def boom():
        raise RuntimeError(SECRET)

    app.add_url_rule("/api/boom", "boom", boom)
    return app


def _bad_request(client):
    return client.post("/api/documents", json={"title": 5})


def _not_found(client):
    return client.get("/api/documents/2f1b4c1e-8a4e-4a43-9a7c-2d5b8f0c9e11")


def _method_not_allowed(client):
    return client.put("/api/documents", json={"title": "x"})


def _conflict(client):
    doc = make_document(client)
    url = f"/api/documents/{doc['id']}/sections/{doc['sections'][0]['id']}"
    client.patch(url, json={"content": "changed", "version": 1})
    return client.patch(url, json={"content": "stale", "version": 1})


def _too_large(client):
    return client.post("/api/documents", json={"title": "x", "description": "d" * (BODY_LIMIT + 1)})


def _internal(client):
    return client.get("/api/boom")


@pytest.mark.parametrize(("request_", "status", "error"), [
    (_bad_request, 400, {"code": "bad_request", "field": "title"}),
    (_not_found, 404, {"code": "not_found"}),
    (_method_not_allowed, 405, {"code": "method_not_allowed"}),
    (_conflict, 409, {"code": "conflict", "current_version": 2, "section": dict}),
    (_too_large, 413, {"code": "payload_too_large", "limit": BODY_LIMIT}),
    (_internal, 500, {"code": "internal_error"}),
])
def test_error_shape(error_app, request_, status, error):
    resp = request_(error_app.test_client())
    assert resp.status_code == status
    assert resp.mimetype == "application/json"
    body = resp.get_json()
    assert list(body) == ["error"]
    assert set(body["error"]) == {"message", *error}
    assert isinstance(body["error"]["message"], str) and body["error"]["message"].strip()
    for key, expected in error.items():
        if isinstance(expected, type):
            assert isinstance(body["error"][key], expected)
        else:
            assert body["error"][key] == expected


def test_500_has_no_traceback_or_exception_text(error_app, caplog):
    resp = error_app.test_client().get("/api/boom")
    assert resp.status_code == 500
    text = resp.get_data(as_text=True)
    assert SECRET not in text
    assert "Traceback" not in text
    assert "RuntimeError" not in text
    # The detail goes to the log instead, for whoever runs the server.
    assert SECRET in caplog.text


def test_405_says_which_methods_are_allowed(client):
    resp = client.put("/api/documents")
    assert resp.status_code == 405
    assert set(resp.headers["Allow"].split(", ")) >= {"GET", "POST"}


@pytest.mark.parametrize("path", ["/api/nothing", "/api/documents/x/y/z/w", "/api/sessions", "/api/"])
def test_unknown_url_under_api_is_json_404(client, path):
    resp = client.get(path)
    assert resp.status_code == 404
    assert resp.mimetype == "application/json"
    assert resp.get_json()["error"]["code"] == "not_found"


def test_every_route_refuses_a_body_over_the_limit(error_app, data_dir):
    """Even routes that never read their body answer 413 before doing anything."""
    client = error_app.test_client()
    session = make_session(client, make_document(client))
    big = "x" * (BODY_LIMIT + 1)
    for method, url in [
        ("post", f"/api/sessions/{session['id']}/stop"),
        ("delete", f"/api/sessions/{session['id']}"),
        ("post", f"/api/sessions/{session['id']}/messages"),
    ]:
        resp = getattr(client, method)(url, data=big, content_type="application/json")
        assert resp.status_code == 413, url
        assert resp.get_json()["error"]["code"] == "payload_too_large"
    assert client.get(f"/api/sessions/{session['id']}").get_json()["messages"] == []


def test_a_body_just_under_the_limit_is_read(error_app):
    client = error_app.test_client()
    padding = "d" * (BODY_LIMIT - 100)
    assert client.post("/api/documents", json={"title": "x", "description": padding}).status_code == 201


def test_bad_json_is_a_400_in_the_same_shape(client):
    resp = client.post("/api/documents", data="{", content_type="application/json")
    assert resp.status_code == 400
    assert set(resp.get_json()["error"]) == {"code", "message"}
