"""Signing out ends the session on the server, and ended sessions lose their open websockets.

A cookie names a sign-in kept in the user's file: signing out removes it (so a
copied cookie stops working), "sign out everywhere" and a password change end
them all, and every socket re-checks its sign-in before each command.
"""
from __future__ import annotations

import json

import pytest
import simple_websocket
from auth_helpers import (
    PASSWORD,
    assert_signed_out_and_closed,
    connect_as,
    cookie_header,
    handshake,
    password_app,
    signin,
    signup,
    still_open,
)
from conftest import make_document, make_session

from vice_ai import services
from vice_ai.accounts import users
from vice_ai.live import connection

NEW_PASSWORD = "a brand new passphrase"


def copy_of(app, client):
    """Another browser carrying a copy of `client`'s cookie (as someone who stole it would)."""
    thief = app.test_client()
    thief.set_cookie("vice_ai_session", client.get_cookie("vice_ai_session").value)
    return thief


@pytest.fixture
def accounts_app(make_app):
    return password_app(make_app)


@pytest.fixture
def world(accounts_app, start_server):
    """alice signed in twice (laptop, phone), a document with a chat, a live server."""
    laptop, phone = accounts_app.test_client(), accounts_app.test_client()
    assert signup(laptop, "alice").status_code == 201
    assert signin(phone, "alice").status_code == 200
    doc = make_document(laptop)
    session = make_session(laptop, doc)
    return {"app": accounts_app, "laptop": laptop, "phone": phone, "session": session,
            "server": start_server(accounts_app)}


def messages(client, session_id: str) -> list[dict]:
    return client.get(f"/api/sessions/{session_id}").get_json()["messages"]


# -- finding 3: sign-out ends the session on the server ----------------------------------

def test_a_copied_cookie_stops_working_after_sign_out(accounts_app):
    laptop = accounts_app.test_client()
    assert signup(laptop, "alice").status_code == 201
    thief = copy_of(accounts_app, laptop)
    assert thief.get("/api/me").status_code == 200
    assert laptop.post("/api/auth/signout").get_json() == {"signed_out": True}
    assert thief.get("/api/me").status_code == 401
    assert thief.get("/api/documents").status_code == 401
    assert thief.get("/").status_code == 302  # pages lead to sign-in


def test_signing_out_one_browser_keeps_the_others(world):
    laptop, phone = world["laptop"], world["phone"]
    assert laptop.post("/api/auth/signout").status_code == 200
    assert laptop.get("/api/me").status_code == 401
    assert phone.get("/api/me").status_code == 200


def test_sign_out_everywhere_ends_every_sign_in(world):
    app, laptop, phone = world["app"], world["laptop"], world["phone"]
    thief = copy_of(app, phone)
    resp = laptop.post("/api/auth/signout-everywhere")
    assert resp.status_code == 200 and resp.get_json() == {"signed_out": True}
    for client in (laptop, phone, thief):
        assert client.get("/api/me").status_code == 401
    assert signin(phone, "alice").status_code == 200  # the password still works
    assert phone.get("/api/me").status_code == 200


def test_sign_out_everywhere_needs_a_user_the_header_and_accounts(accounts_app, make_app):
    anonymous = accounts_app.test_client()
    assert anonymous.post("/api/auth/signout-everywhere").status_code == 401
    laptop = accounts_app.test_client()
    signup(laptop, "alice")
    laptop.environ_base.pop("HTTP_X_VICE_CSRF")
    refused = laptop.post("/api/auth/signout-everywhere")
    assert refused.status_code == 403 and refused.get_json()["error"]["reason"] == "csrf_header_missing"
    assert make_app().test_client().post("/api/auth/signout-everywhere").status_code == 404  # local mode


def test_a_password_change_ends_copies_of_this_browsers_cookie_too(world):
    app, laptop = world["app"], world["laptop"]
    thief = copy_of(app, laptop)
    resp = laptop.put("/api/me/password", json={"current_password": PASSWORD, "new_password": NEW_PASSWORD})
    assert resp.status_code == 200
    assert laptop.get("/api/me").status_code == 200  # a new cookie for this browser
    assert thief.get("/api/me").status_code == 401
    assert world["phone"].get("/api/me").status_code == 401


def test_a_sign_out_in_another_process_ends_the_cookie_here(accounts_app, make_app, data_dir):
    laptop = accounts_app.test_client()
    assert signup(laptop, "alice").status_code == 201
    here = copy_of(accounts_app, laptop)
    other_process = make_app(AUTH="password", PASSWORD_METHOD=accounts_app.config["PASSWORD_METHOD"])
    there = copy_of(other_process, laptop)
    assert here.get("/api/me").status_code == 200 and there.get("/api/me").status_code == 200
    assert there.post("/api/auth/signout").status_code == 200
    assert here.get("/api/me").status_code == 401


def test_a_cookie_without_a_server_side_sign_in_is_refused(accounts_app):
    """A cookie made before sign-ins were kept (user and generation only) no longer signs anyone in."""
    laptop = accounts_app.test_client()
    assert signup(laptop, "alice").status_code == 201
    with laptop.session_transaction() as cookie:
        cookie.pop("sid")
    assert laptop.get("/api/me").status_code == 401


def test_old_and_surplus_sign_ins_are_forgotten(accounts_app, monkeypatch):
    accounts = services(accounts_app).accounts
    user = accounts.create("alice", PASSWORD)
    accounts.update(user.id, lambda u: u.sign_ins.update({"long-ago": "2001-01-01T00:00:00.000Z"}))
    user, first = accounts.start_sign_in(user.id, lifetime_days=30)
    assert set(user.sign_ins) == {first}  # older than the cookie lifetime: gone
    monkeypatch.setattr(users, "MAX_SIGN_INS", 3)
    started = [first] + [accounts.start_sign_in(user.id, 30)[1] for _ in range(3)]
    user = accounts.get(user.id)
    assert set(user.sign_ins) == set(started[1:])  # the oldest ended
    assert "sign_ins" not in user.public()


def test_of_sign_ins_made_in_one_millisecond_the_first_made_ends_first(accounts_app, monkeypatch):
    accounts = services(accounts_app).accounts
    user = accounts.create("alice", PASSWORD)
    monkeypatch.setattr(users, "MAX_SIGN_INS", 3)
    monkeypatch.setattr(users, "now", lambda: "2026-11-30T12:00:00.000Z")
    started = [accounts.start_sign_in(user.id, 30)[1] for _ in range(6)]
    assert set(accounts.get(user.id).sign_ins) == set(started[3:])


# -- finding 2 (and 3): ended sessions lose their open sockets ------------------------------

def test_a_password_change_closes_the_users_other_sockets(world):
    laptop, phone, session = world["laptop"], world["phone"], world["session"]
    ws = connect_as(world["server"], session["id"], phone)
    resp = laptop.put("/api/me/password", json={"current_password": PASSWORD, "new_password": NEW_PASSWORD})
    assert resp.status_code == 200
    assert_signed_out_and_closed(ws)
    with pytest.raises(simple_websocket.ConnectionClosed):
        ws.send(json.dumps({"type": "send", "content": "Still here?"}))
        ws.receive(2)
    assert messages(laptop, session["id"]) == []
    assert services(world["app"]).hub.subscribers(session["id"]) == []


def test_sign_out_closes_that_browsers_sockets_only(world):
    laptop, phone, session = world["laptop"], world["phone"], world["session"]
    on_laptop = connect_as(world["server"], session["id"], laptop)
    on_phone = connect_as(world["server"], session["id"], phone)
    assert laptop.post("/api/auth/signout").status_code == 200
    assert_signed_out_and_closed(on_laptop)
    assert still_open(on_phone)
    on_phone.close()


def test_sign_out_everywhere_closes_every_socket_of_the_user(world):
    laptop, phone, session = world["laptop"], world["phone"], world["session"]
    sockets = [connect_as(world["server"], session["id"], c) for c in (laptop, phone, laptop)]
    assert laptop.post("/api/auth/signout-everywhere").status_code == 200
    for ws in sockets:
        assert_signed_out_and_closed(ws)


def test_every_command_checks_the_sign_in(world, make_app):
    """A password changed by another process (whose hub knows nothing of this socket): the next command is
    refused, nothing is stored, and the socket closes."""
    laptop, phone, session = world["laptop"], world["phone"], world["session"]
    ws = connect_as(world["server"], session["id"], phone)
    other_process = make_app(AUTH="password", PASSWORD_METHOD=world["app"].config["PASSWORD_METHOD"])
    elsewhere = copy_of(other_process, laptop)
    resp = elsewhere.put("/api/me/password", json={"current_password": PASSWORD, "new_password": NEW_PASSWORD})
    assert resp.status_code == 200
    ws.send(json.dumps({"type": "send", "content": "Sent after the password changed"}))
    assert_signed_out_and_closed(ws)
    assert messages(elsewhere, session["id"]) == []


def test_an_idle_socket_notices_a_sign_out_elsewhere(world, make_app, monkeypatch):
    monkeypatch.setattr(connection, "SIGNED_IN_CHECK", 0.2)
    phone, session = world["phone"], world["session"]
    ws = connect_as(world["server"], session["id"], phone)
    other_process = make_app(AUTH="password", PASSWORD_METHOD=world["app"].config["PASSWORD_METHOD"])
    assert copy_of(other_process, phone).post("/api/auth/signout").status_code == 200
    assert_signed_out_and_closed(ws)


def test_a_signed_out_cookie_cannot_open_a_socket(world):
    phone, session = world["phone"], world["session"]
    server, path, cookie = world["server"], f"/ws/sessions/{session['id']}", cookie_header(phone)
    assert handshake(server.port, path, server.url, cookie)[0] == 101
    assert phone.post("/api/auth/signout").status_code == 200
    status, body = handshake(server.port, path, server.url, cookie)
    assert status == 401 and json.loads(body)["error"]["code"] == "unauthorized"
