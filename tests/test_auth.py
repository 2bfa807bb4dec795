"""Accounts: first run, sign up / in / out, cookies, modes (password, local, header), admin, restart."""
from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from auth_helpers import FAST_HASH, PASSWORD, create_user, password_app, signin, signup, two_users
from conftest import PageClient

import run
from vice_ai import create_app, shutdown


def user_files(data_dir: str) -> list[dict]:
    folder = Path(data_dir) / "users"
    return [json.loads(p.read_text())["data"] for p in sorted(folder.glob("*.json"))]


def test_create_app_defaults_to_accounts(data_dir):
    app = create_app({"DATA_DIR": data_dir, "PASSWORD_METHOD": FAST_HASH})
    app.test_client_class = PageClient
    try:
        client = app.test_client()
        resp = client.get("/api/documents")
        assert resp.status_code == 401
        assert resp.get_json()["error"]["code"] == "unauthorized"
        assert client.get("/api/health").status_code == 200  # health checks need no account
    finally:
        shutdown(app)


@pytest.mark.parametrize(("host", "environ", "expected"), [
    ("127.0.0.1", {}, "local"),
    ("localhost", {}, "local"),
    ("::1", {}, "local"),
    ("0.0.0.0", {}, None),
    ("192.168.1.20", {}, None),
    ("127.0.0.1", {"VICE_AI_AUTH": "password"}, None),
])
def test_run_py_uses_local_mode_only_on_localhost(host, environ, expected):
    assert run.auth_mode(host, environ) == expected


def test_first_run_creates_the_admin_then_sign_up_closes(make_app, data_dir):
    client = password_app(make_app).test_client()
    page = client.get("/")
    assert page.status_code == 302 and page.headers["Location"].endswith("/signup")
    assert client.get("/signin").headers["Location"].endswith("/signup")
    assert "Create the admin account" in client.get("/signup").get_data(as_text=True)

    resp = signup(client, "alice")
    assert resp.status_code == 201
    assert resp.get_json()["user"]["username"] == "alice" and resp.get_json()["user"]["is_admin"] is True
    assert client.get("/api/documents").status_code == 200  # signed in at once

    stranger = client.application.test_client()
    closed = signup(stranger, "mallory")
    assert closed.status_code == 403
    assert closed.get_json()["error"]["reason"] == "signup_closed"
    assert "ask an admin" in stranger.get("/signup").get_data(as_text=True)
    [stored] = user_files(data_dir)
    assert stored["username"] == "alice"
    assert PASSWORD not in json.dumps(stored)
    assert stored["password_hash"].startswith("pbkdf2:sha256")


def test_open_sign_up_makes_ordinary_users(make_app):
    app = password_app(make_app, SIGNUP="open")
    assert signup(app.test_client(), "alice").get_json()["user"]["is_admin"] is True
    second = signup(app.test_client(), "bob")
    assert second.status_code == 201 and second.get_json()["user"]["is_admin"] is False
    taken = signup(app.test_client(), "BOB")
    assert taken.status_code == 409 and taken.get_json()["error"]["field"] == "username"


@pytest.mark.parametrize(("body", "field"), [
    ({"username": "alice", "password": "short"}, "password"),
    ({"username": "-alice", "password": PASSWORD}, "username"),
    ({"username": "a b", "password": PASSWORD}, "username"),
    ({"username": "", "password": PASSWORD}, "username"),
    ({"username": "alice"}, "password"),
])
def test_sign_up_validates(make_app, body, field):
    resp = password_app(make_app).test_client().post("/api/auth/signup", json=body)
    assert resp.status_code == 400 and resp.get_json()["error"]["field"] == field


def test_sign_in_and_out(make_app):
    app = password_app(make_app)
    signup(app.test_client(), "alice")
    client = app.test_client()
    wrong = signin(client, "alice", "not the password")
    assert wrong.status_code == 401
    assert wrong.get_json()["error"] == {"code": "unauthorized", "message": "Wrong username or password."}
    assert signin(client, "nobody").get_json()["error"]["message"] == "Wrong username or password."
    assert signin(client, "ALICE").status_code == 200  # usernames are case-insensitive
    me = client.get("/api/me").get_json()
    assert me["user"]["username"] == "alice" and me["auth"] == "password" and me["last_activity"]
    assert client.post("/api/auth/signout").get_json() == {"signed_out": True}
    assert client.get("/api/me").status_code == 401


def test_pages_redirect_to_sign_in_and_back(make_app):
    app = password_app(make_app)
    signup(app.test_client(), "alice")
    client = app.test_client()
    page = client.get("/documents/2f1b4c1e-8a4e-4a43-9a7c-2d5b8f0c9e11?x=1")
    assert page.status_code == 302
    assert page.headers["Location"] == "/signin?next=/documents/2f1b4c1e-8a4e-4a43-9a7c-2d5b8f0c9e11%3Fx%3D1"
    body = client.get("/signin?next=/documents/abc").get_data(as_text=True)
    assert 'data-next="/documents/abc"' in body and 'id="signin-form"' in body
    assert 'data-next="/"' in client.get("/signin?next=//evil.example/").get_data(as_text=True)
    signin(client, "alice")
    assert client.get("/signin?next=/documents/abc").headers["Location"] == "/documents/abc"
    assert client.get("/signin?next=https://evil.example/").headers["Location"] == "/"
    home = client.get("/").get_data(as_text=True)
    assert 'id="user-menu"' in home and ">alice<" in home and 'id="signout-btn"' in home


def test_local_mode_has_no_sign_in(make_app):
    client = make_app(AUTH="local").test_client()
    me = client.get("/api/me").get_json()
    assert me["user"]["id"] == "local" and me["user"]["is_admin"] is True and me["auth"] == "local"
    assert client.get("/signin").headers["Location"] == "/"
    assert client.get("/signup").headers["Location"] == "/"
    assert client.post("/api/auth/signin", json={"username": "a", "password": PASSWORD}).status_code == 404
    home = client.get("/")
    assert home.status_code == 200 and "user-menu" not in home.get_data(as_text=True)
    assert client.get("/api/stats").status_code == 200  # the local user is the admin


def test_header_mode_trusts_the_proxy(make_app):
    app = make_app(AUTH="header")
    client = app.test_client()
    assert client.get("/api/documents").status_code == 401
    assert client.get("/").status_code == 403
    as_carol = {"X-Forwarded-User": "carol@example.org"}
    doc = client.post("/api/documents", json={"title": "Carol's"}, headers=as_carol).get_json()
    me = client.get("/api/me", headers=as_carol).get_json()
    assert me["user"]["username"] == "carol@example.org" and me["user"]["is_admin"] is True
    as_dave = {"X-Forwarded-User": "dave"}
    assert client.get(f"/api/documents/{doc['id']}", headers=as_dave).status_code == 404
    assert client.get("/api/me", headers=as_dave).get_json()["user"]["is_admin"] is False
    assert client.post("/api/auth/signin", json={"username": "dave", "password": PASSWORD},
                       headers=as_dave).status_code == 404


def test_header_mode_is_off_unless_chosen(make_app):
    app = password_app(make_app)
    signup(app.test_client(), "alice")
    client = app.test_client()
    assert client.get("/api/documents", headers={"X-Forwarded-User": "alice"}).status_code == 401


def test_cookie_flags(make_app):
    app = password_app(make_app)
    cookie = signup(app.test_client(), "alice").headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    assert "Expires=" in cookie  # stays signed in across browser restarts
    secure = app.test_client().post("/api/auth/signin", json={"username": "alice", "password": PASSWORD},
                        base_url="https://localhost")
    assert "; Secure" in secure.headers["Set-Cookie"]
    forced = password_app(make_app, SECURE_COOKIES=True)
    assert "; Secure" in signin(forced.test_client(), "alice").headers["Set-Cookie"]


def test_https_behind_a_trusted_proxy_gets_secure_cookies(make_app):
    app = password_app(make_app, TRUST_PROXY=1)
    client = app.test_client()
    resp = client.post("/api/auth/signup", json={"username": "alice", "password": PASSWORD},
                       headers={"X-Forwarded-Proto": "https"})
    assert "; Secure" in resp.headers["Set-Cookie"]


def test_a_restart_keeps_accounts_and_signed_in_browsers(make_app, data_dir):
    first = password_app(make_app)
    client = first.test_client()
    signup(client, "alice")
    doc = client.post("/api/documents", json={"title": "Kept"}).get_json()
    key_file = Path(data_dir) / "secret_key"
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    again = password_app(make_app)
    same_browser = again.test_client()
    same_browser.set_cookie("vice_ai_session", client.get_cookie("vice_ai_session").value)
    assert same_browser.get(f"/api/documents/{doc['id']}").get_json()["title"] == "Kept"
    assert again.config["SECRET_KEY"] == first.config["SECRET_KEY"]


def test_secret_key_from_the_environment_wins(make_app, data_dir, monkeypatch):
    monkeypatch.setenv("VICE_AI_SECRET_KEY", "from-the-environment-0123456789")
    app = password_app(make_app)
    assert app.config["SECRET_KEY"] == "from-the-environment-0123456789"
    assert not (Path(data_dir) / "secret_key").exists()


def test_changing_the_password_signs_out_other_browsers(make_app):
    app = password_app(make_app)
    laptop, phone = app.test_client(), app.test_client()
    signup(laptop, "alice")
    signin(phone, "alice")
    wrong = laptop.put("/api/me/password", json={"current_password": "nope", "new_password": "another password"})
    assert wrong.status_code == 400 and wrong.get_json()["error"]["field"] == "current_password"
    resp = laptop.put("/api/me/password", json={"current_password": PASSWORD, "new_password": "another password"})
    assert resp.status_code == 200
    assert laptop.get("/api/me").status_code == 200
    assert phone.get("/api/me").status_code == 401
    assert signin(phone, "alice").status_code == 401
    assert signin(phone, "alice", "another password").status_code == 200


def test_only_admins_manage_users(make_app):
    app = password_app(make_app)
    alice, bob = two_users(app)
    assert [u["username"] for u in alice.get("/api/users").get_json()["users"]] == ["alice", "bob"]
    for resp in (bob.get("/api/users"), bob.post("/api/users", json={"username": "eve", "password": PASSWORD}),
                 bob.get("/api/stats"), bob.post("/api/admin/archive")):
        assert resp.status_code == 404 and resp.get_json()["error"]["code"] == "not_found"
    made = create_user(alice, "carol", is_admin=True)
    assert made["is_admin"] is True and "password_hash" not in made
    assert alice.post("/api/users", json={"username": "Carol", "password": PASSWORD}).status_code == 409


def test_model_preference(make_app, fake_openai):
    app = password_app(make_app, OPENAI_BASE_URL=fake_openai.url, OPENAI_API_KEY="sk-test-not-a-real-key",
                       MODEL="fake-small", MODELS=["fake-small", "fake-large"])
    alice, bob = two_users(app)
    assert alice.get("/api/me").get_json()["model"] == {"preferred": None, "effective": "fake-small",
                                                        "default": "fake-small"}
    chosen = alice.put("/api/me/model", json={"model": "fake-large"}).get_json()
    assert chosen["model"]["preferred"] == "fake-large" and "notice" not in chosen["model"]
    assert alice.get("/api/models").get_json()["default"] == "fake-large"
    assert bob.get("/api/models").get_json()["default"] == "fake-small"  # preferences are per user
    doc = alice.post("/api/documents", json={"title": "D", "sections": [{"title": "S"}]}).get_json()
    url = f"/api/documents/{doc['id']}/sections/{doc['sections'][0]['id']}/sessions"
    assert alice.post(url, json={}).get_json()["config"]["model"] == "fake-large"
    assert alice.post(url, json={"model": "fake-small"}).get_json()["config"]["model"] == "fake-small"

    invalid = alice.put("/api/me/model", json={"model": "gpt-imaginary"})
    assert invalid.status_code == 200
    body = invalid.get_json()["model"]
    assert body["preferred"] is None and body["effective"] == "fake-small"
    assert "gpt-imaginary" in body["notice"] and "default" in body["notice"]
    assert alice.get("/api/models").get_json()["default"] == "fake-small"


def test_preference_survives_a_restart_in_local_mode(make_app):
    make_app().test_client().put("/api/me/model", json={"model": "offline-assistant"})
    assert make_app().test_client().get("/api/me").get_json()["model"]["preferred"] == "offline-assistant"


def test_stats_for_admins(make_app):
    app = password_app(make_app)
    alice, bob = two_users(app)
    doc = alice.post("/api/documents", json={"title": "D", "sections": [{"title": "S", "content": "Text."}]}).get_json()
    session = alice.post(f"/api/documents/{doc['id']}/sections/{doc['sections'][0]['id']}/sessions", json={}).get_json()
    assert alice.post(f"/api/sessions/{session['id']}/messages", json={"content": "Summarise"}).status_code == 201
    stats = alice.get("/api/stats").get_json()
    assert stats["sessions"] == 1 and stats["archived_sessions"] == 0 and stats["documents"] == 1
    assert stats["messages"] == 2
    assert stats["users"] == 2 and stats["active_users"] == 2
    assert stats["models"] == {"offline-assistant": {"messages": 1, "generations": 1}}
