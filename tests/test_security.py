"""Web security: CSRF refusals, the websocket handshake, security headers, no inline code, rate limits."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from auth_helpers import connect_as, cookie_header, handshake, password_app, signin, signup, two_users
from conftest import make_document, make_session, ws_events

from vice_ai.chat.render import render_markdown

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


def without_csrf_header(client):
    client.environ_base.pop("HTTP_X_VICE_CSRF")
    return client


@pytest.mark.parametrize("mode", ["local", "password"])
def test_a_change_without_the_csrf_header_is_refused(make_app, mode):
    app = password_app(make_app, AUTH=mode)
    client = app.test_client()
    if mode == "password":
        signup(client, "alice")
    doc = make_document(client)
    bare = without_csrf_header(client)
    for method, url, body in [("POST", "/api/documents", {"title": "Forged"}),
                              ("PATCH", f"/api/documents/{doc['id']}", {"title": "Forged"}),
                              ("DELETE", f"/api/documents/{doc['id']}", None)]:
        resp = bare.open(url, method=method, json=body)
        assert resp.status_code == 403, (method, url)
        assert resp.get_json()["error"]["code"] == "forbidden"
        assert resp.get_json()["error"]["reason"] == "csrf_header_missing"
    assert bare.get(f"/api/documents/{doc['id']}").get_json()["title"] == "Grant proposal"  # reads need no header
    assert [d["title"] for d in bare.get("/api/documents").get_json()["documents"]] == ["Grant proposal"]


def test_a_cross_origin_form_post_is_refused(alice):
    forged = without_csrf_header(alice).post(
        "/api/documents", data={"title": "Forged"}, headers={"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"})
    assert forged.status_code == 403 and forged.get_json()["error"]["reason"] == "cross_site"
    assert alice.get("/api/documents").get_json()["documents"] == []


@pytest.mark.parametrize("headers", [
    {"Origin": "https://evil.example"},
    {"Origin": "null"},
    {"Sec-Fetch-Site": "cross-site"},
    {"Sec-Fetch-Site": "same-site"},
])
def test_a_cross_site_request_is_refused_even_with_the_header(alice, headers):
    resp = alice.post("/api/documents", json={"title": "Forged"}, headers=headers)
    assert resp.status_code == 403 and resp.get_json()["error"]["reason"] == "cross_site"
    assert alice.get("/api/documents").get_json()["documents"] == []


def test_same_origin_requests_pass(alice):
    resp = alice.post("/api/documents", json={"title": "Mine"},
                      headers={"Origin": "http://localhost", "Sec-Fetch-Site": "same-origin"})
    assert resp.status_code == 201


def test_sign_in_needs_the_header_too(make_app):
    app = password_app(make_app)
    signup(app.test_client(), "alice")
    resp = signin(without_csrf_header(app.test_client()), "alice")
    assert resp.status_code == 403 and "Set-Cookie" not in resp.headers


def test_a_cross_origin_websocket_handshake_is_refused(alice, start_server):
    doc = make_document(alice)
    session = make_session(alice, doc)
    server = start_server(alice.application)
    path = f"/ws/sessions/{session['id']}"
    status, body = handshake(server.port, path, "http://evil.example", cookie_header(alice))
    assert status == 403 and json.loads(body)["error"]["code"] == "forbidden"
    assert handshake(server.port, path, server.url, cookie_header(alice))[0] == 101


@pytest.mark.parametrize("path", ["/", "/signin", "/api/health", "/api/documents", "/api/nothing-here",
                                  "/static/js/api.js", "/documents/2f1b4c1e-8a4e-4a43-9a7c-2d5b8f0c9e11"])
def test_security_headers_on_every_response(make_app, path):
    resp = password_app(make_app).test_client().get(path)
    csp = resp.headers["Content-Security-Policy"]
    for directive in ("default-src 'self'", "script-src 'self'", "connect-src 'self'", "img-src 'self' data:",
                      "style-src 'self'", "frame-ancestors 'none'", "base-uri 'none'", "form-action 'self'"):
        assert directive in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["Referrer-Policy"] == "same-origin"
    resp.close()


@pytest.mark.parametrize("template", sorted(p.name for p in TEMPLATES.glob("*.html")))
def test_templates_have_no_inline_script_or_style(template):
    html = (TEMPLATES / template).read_text()
    for tag in re.findall(r"<script\b[^>]*>", html):
        assert "src=" in tag, f"inline script in {template}: {tag}"
    assert not re.search(r"<style\b", html), f"a <style> block in {template}"
    assert not re.search(r"\sstyle\s*=", html), f"a style attribute in {template}"
    assert not re.search(r"\son[a-z]+\s*=", html), f"an inline event handler in {template}"
    assert "javascript:" not in html


def test_pages_render_without_inline_code(alice):
    doc = make_document(alice)
    for path in ("/", f"/documents/{doc['id']}"):
        html = alice.get(path).get_data(as_text=True)
        assert all("src=" in tag for tag in re.findall(r"<script\b[^>]*>", html))
        assert not re.search(r"\sstyle\s*=|\son[a-z]+\s*=", html)


def test_remote_images_in_replies_are_never_loaded():
    html = render_markdown("See ![chart](https://tracker.example/pixel.png?u=alice) and <img src=x onerror=alert(1)>")
    assert "<img" not in html  # nothing is fetched when the reply is shown
    # The image becomes a link the reader may follow, never sending a referrer.
    [link] = re.findall(r"<a\b[^>]*>Image: chart</a>", html)
    assert 'href="https://tracker.example/pixel.png?u=alice"' in link and 'rel="noopener noreferrer nofollow"' in link
    assert "&lt;img src=x onerror" in html  # raw HTML shows as text


def from_address(app, ip: str):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = ip
    return client


def test_sign_in_brute_force_hits_the_limit(make_app):
    app = password_app(make_app, RATE_SIGNIN="3/minute", RATE_SIGNIN_IP="100/minute")
    signup(app.test_client(), "alice")
    attacker = from_address(app, "10.6.6.6")
    answers = [signin(attacker, name, f"guess-number-{i}").status_code
               for i, name in enumerate(["alice", "ALICE", "Alice", "alice", "aLiCe"])]
    assert answers == [401, 401, 401, 429, 429]  # the username counts in any letter case
    limited = signin(attacker, "alice")  # even the right password waits now, from this address
    assert limited.status_code == 429
    error = limited.get_json()["error"]
    assert error["code"] == "rate_limited" and error["retry_after"] >= 1 and "Try again in" in error["message"]
    assert int(limited.headers["Retry-After"]) == error["retry_after"]


def test_failed_sign_ins_from_one_address_do_not_lock_the_owner_out(make_app):
    app = password_app(make_app, RATE_SIGNIN_IP="1000/minute")  # the default per-(username, IP) limit
    signup(app.test_client(), "alice")
    attacker = from_address(app, "10.6.6.6")
    answers = [signin(attacker, "alice" if i % 2 else "ALICE", f"guess-{i}").status_code for i in range(30)]
    assert answers[:5] == [401] * 5 and set(answers[5:]) == {429}
    owner = from_address(app, "192.0.2.10")
    assert signin(owner, "Alice").status_code == 200  # the right password, another letter case, another address
    assert owner.get("/api/me").get_json()["user"]["username"] == "alice"
    assert signin(attacker, "alice").status_code == 429  # the attacker still waits


def test_failed_sign_ins_from_many_addresses_meet_a_cap_per_username(make_app):
    app = password_app(make_app, RATE_SIGNIN="2/minute", RATE_SIGNIN_USER="5/minute", RATE_SIGNIN_IP="100/minute")
    signup(app.test_client(), "alice")
    answers = []
    for n in range(4):
        bot = from_address(app, f"10.0.1.{n}")
        answers += [signin(bot, "Alice", f"guess-{n}-{i}").status_code for i in range(2)]
    assert answers == [401] * 5 + [429] * 3
    refused = signin(from_address(app, "192.0.2.10"), "alice")
    assert refused.status_code == 429 and "this username" in refused.get_json()["error"]["message"]


def test_sign_in_is_limited_per_ip_across_usernames(make_app):
    app = password_app(make_app, RATE_SIGNIN="100/minute", RATE_SIGNIN_IP="4/minute")
    signup(app.test_client(), "alice")
    sprayer = app.test_client()
    sprayer.environ_base["REMOTE_ADDR"] = "10.0.0.7"
    answers = [signin(sprayer, f"user{i}", "password1").status_code for i in range(5)]
    assert answers == [401, 401, 401, 401, 429]
    elsewhere = app.test_client()
    elsewhere.environ_base["REMOTE_ADDR"] = "10.0.0.8"
    assert signin(elsewhere, "alice").status_code == 200


def test_sending_messages_is_limited_per_user(make_app):
    app = password_app(make_app, RATE_MESSAGES="2/minute")
    alice, bob = two_users(app)
    session = make_session(alice, make_document(alice))
    url = f"/api/sessions/{session['id']}/messages"
    assert [alice.post(url, json={"content": f"Q{i}"}).status_code for i in range(3)] == [201, 201, 429]
    refused = alice.post(f"/api/sessions/{session['id']}/regenerate")
    assert refused.status_code == 429 and "Retry-After" in refused.headers
    assert len(alice.get(f"/api/sessions/{session['id']}").get_json()["messages"]) == 4
    theirs = make_session(bob, make_document(bob))  # another user's budget is their own
    assert bob.post(f"/api/sessions/{theirs['id']}/messages", json={"content": "Hi"}).status_code == 201


def test_websocket_sends_count_against_the_same_limit(make_app, start_server):
    app = password_app(make_app, RATE_MESSAGES="1/minute")
    alice, _ = two_users(app)
    session = make_session(alice, make_document(alice))
    server = start_server(app)
    ws = connect_as(server, session["id"], alice)
    ws.send(json.dumps({"type": "send", "content": "First"}))
    assert ws_events(ws, lambda e: e["type"] == "done")
    ws.send(json.dumps({"type": "send", "content": "Second"}))
    error = ws_events(ws, lambda e: e["type"] == "error")[-1]["error"]
    assert error["code"] == "rate_limited" and error["retry_after"] >= 1
    assert alice.post(f"/api/sessions/{session['id']}/messages", json={"content": "Third"}).status_code == 429
    ws.close()


def test_local_mode_has_no_message_limit(make_app):
    client = make_app(AUTH="local", RATE_MESSAGES="1/minute").test_client()
    session = make_session(client, make_document(client))
    url = f"/api/sessions/{session['id']}/messages"
    assert [client.post(url, json={"content": f"Q{i}"}).status_code for i in range(3)] == [201, 201, 201]
