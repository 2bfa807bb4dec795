"""Admins manage accounts: create users, reset a password, make or remove admins (never the last one)."""
from __future__ import annotations

import pytest
from auth_helpers import (
    PASSWORD,
    assert_signed_out_and_closed,
    connect_as,
    create_user,
    password_app,
    signin,
    signup,
    still_open,
    two_users,
)
from conftest import make_document, make_session

NEW = "a fresh passphrase"


@pytest.fixture
def accounts_app(make_app):
    return password_app(make_app)


def user_id(admin, username: str) -> str:
    return next(u["id"] for u in admin.get("/api/users").get_json()["users"] if u["username"] == username)


def test_an_admin_makes_and_removes_admins_but_never_the_last(accounts_app):
    alice, bob = two_users(accounts_app)
    alice_id, bob_id = user_id(alice, "alice"), user_id(alice, "bob")
    refused = alice.patch(f"/api/users/{alice_id}", json={"is_admin": False})
    assert refused.status_code == 409 and refused.get_json()["error"]["code"] == "conflict"
    assert bob.get("/api/users").status_code == 404
    made = alice.patch(f"/api/users/{bob_id}", json={"is_admin": True})
    assert made.status_code == 200 and made.get_json()["is_admin"] is True
    assert bob.get("/api/users").status_code == 200
    # Now alice may step down; then bob is the last admin.
    assert alice.patch(f"/api/users/{alice_id}", json={"is_admin": False}).get_json()["is_admin"] is False
    assert alice.get("/api/users").status_code == 404
    assert bob.patch(f"/api/users/{bob_id}", json={"is_admin": False}).status_code == 409
    assert bob.patch("/api/users/2f1b4c1e-8a4e-4a43-9a7c-2d5b8f0c9e11", json={"is_admin": True}).status_code == 404
    assert bob.patch("/api/users/local", json={"is_admin": True}).status_code == 404
    assert bob.patch(f"/api/users/{alice_id}", json={}).status_code == 400


def test_admin_changes_survive_a_restart(make_app):
    alice, _ = two_users(password_app(make_app))
    alice.patch(f"/api/users/{user_id(alice, 'bob')}", json={"is_admin": True})
    again = password_app(make_app).test_client()
    assert signin(again, "bob").status_code == 200
    assert again.get("/api/me").get_json()["user"]["is_admin"] is True


def test_resetting_a_password_signs_the_user_out_everywhere(accounts_app, start_server):
    alice, bob = two_users(accounts_app)
    session = make_session(bob, make_document(bob))
    ws = connect_as(start_server(accounts_app), session["id"], bob)
    mine = connect_as(start_server(accounts_app), make_session(alice, make_document(alice))["id"], alice)
    resp = alice.put(f"/api/users/{user_id(alice, 'bob')}/password", json={"new_password": NEW})
    assert resp.status_code == 200 and resp.get_json()["username"] == "bob"
    assert bob.get("/api/me").status_code == 401
    assert_signed_out_and_closed(ws)
    assert still_open(mine)
    assert signin(bob, "bob").status_code == 401
    assert signin(bob, "bob", NEW).status_code == 200
    mine.close()


def test_password_resets_are_checked(accounts_app):
    alice, bob = two_users(accounts_app)
    bob_id, alice_id = user_id(alice, "bob"), user_id(alice, "alice")
    assert alice.put(f"/api/users/{bob_id}/password", json={"new_password": "short"}).status_code == 400
    own = alice.put(f"/api/users/{alice_id}/password", json={"new_password": NEW})
    assert own.status_code == 400 and "current" in own.get_json()["error"]["message"]
    assert bob.put(f"/api/users/{alice_id}/password", json={"new_password": NEW}).status_code == 404
    assert signin(alice.application.test_client(), "alice").status_code == 200  # unchanged


def test_header_mode_manages_admins_but_no_passwords(make_app):
    app = make_app(AUTH="header")
    carol, dave = app.test_client(), app.test_client()
    carol.environ_base["HTTP_X_FORWARDED_USER"] = "carol"
    dave.environ_base["HTTP_X_FORWARDED_USER"] = "dave"
    assert carol.get("/api/me").get_json()["user"]["is_admin"] is True
    dave.get("/api/me")
    dave_id = user_id(carol, "dave")
    assert carol.patch(f"/api/users/{dave_id}", json={"is_admin": True}).status_code == 200
    assert carol.put(f"/api/users/{dave_id}/password", json={"new_password": NEW}).status_code == 404


def test_pages_are_for_the_right_people(accounts_app, make_app):
    alice, bob = two_users(accounts_app)
    page = alice.get("/admin")
    assert page.status_code == 200 and 'id="user-list"' in page.get_data(as_text=True)
    assert bob.get("/admin").status_code == 404
    assert 'id="admin-link"' in alice.get("/").get_data(as_text=True)
    assert 'id="admin-link"' not in bob.get("/").get_data(as_text=True)
    account = bob.get("/account")
    assert account.status_code == 200 and 'id="password-form"' in account.get_data(as_text=True)
    assert 'href="/account"' in bob.get("/").get_data(as_text=True)
    anonymous = accounts_app.test_client()
    assert anonymous.get("/account").status_code == 302 and anonymous.get("/admin").status_code == 302
    local = make_app().test_client()
    assert local.get("/account").status_code == 404 and local.get("/admin").status_code == 404


def test_created_users_sign_in(accounts_app):
    alice = accounts_app.test_client()
    signup(alice, "alice")
    created = create_user(alice, "erin", is_admin=True)
    assert created["is_admin"] is True
    erin = accounts_app.test_client()
    assert signin(erin, "erin", PASSWORD).status_code == 200
    assert erin.get("/api/users").status_code == 200
