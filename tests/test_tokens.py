"""API tokens: made on the account page, shown once, kept hashed; `Authorization: Bearer` acts as the user.

Real files, a restart in the middle, the websocket against a real server thread.
"""
from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import urllib.request
from pathlib import Path

import pytest
from auth_helpers import (
    PASSWORD,
    assert_signed_out_and_closed,
    cookie_header,
    handshake,
    password_app,
    signup,
    two_users,
)
from conftest import make_document, make_session, ws_events
from ws_client import WSClient

from vice_ai import services
from vice_ai.accounts import tokens as tokens_module


def make_token(client, name: str = "nightly export") -> dict:
    resp = client.post("/api/me/tokens", json={"name": name})
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def script(app):
    """A client as a script is: no cookie, no CSRF header."""
    client = app.test_client()  # its cookie jar stays empty unless the server sets one
    client.environ_base.pop("HTTP_X_VICE_CSRF")
    return client


def files_hold(data_dir: str, text: str) -> list[str]:
    return [str(p) for p in Path(data_dir).rglob("*") if p.is_file() and text.encode() in p.read_bytes()]


@pytest.fixture
def accounts_app(make_app):
    return password_app(make_app)


def test_a_token_acts_as_its_user_without_cookie_or_csrf_header(accounts_app, data_dir, caplog):
    caplog.set_level(logging.DEBUG)
    alice, bob = two_users(accounts_app)
    doc = make_document(alice)
    made = make_token(alice)
    token = made["token"]
    assert token.startswith("vice_") and len(token) > 40
    assert made["info"]["name"] == "nightly export" and made["info"]["hint"] == token[:11]
    assert made["info"]["last_used_at"] is None

    cli = script(accounts_app)
    assert cli.get("/api/me").status_code == 401
    me = cli.get("/api/me", headers=bearer(token))
    assert me.status_code == 200 and me.get_json()["user"]["username"] == "alice"
    assert cli.get_cookie("vice_ai_session") is None
    # Writes need no CSRF header with a token, and keep the owner's access rules.
    created = cli.post("/api/documents", json={"title": "From a script"}, headers=bearer(token))
    assert created.status_code == 201 and created.get_json()["access"] == "owner"
    assert cli.post("/api/documents", json={"title": "No token"}).status_code == 403
    assert cli.get(f"/api/documents/{doc['id']}", headers=bearer(token)).status_code == 200
    bobs = make_token(bob, "bob's")["token"]
    assert cli.get(f"/api/documents/{doc['id']}", headers=bearer(bobs)).status_code == 404
    # Shown once: the list has the hint, never the token or its hash.
    listed = alice.get("/api/me/tokens").get_json()["tokens"]
    assert [t["name"] for t in listed] == ["nightly export"] and listed[0]["last_used_at"] is not None
    assert token not in json.dumps(listed) and tokens_module.digest(token) not in json.dumps(listed)
    # Stored hashed: the token is in no file of the data folder, nor in the log.
    assert files_hold(data_dir, token) == [] and files_hold(data_dir, token[11:31]) == []
    assert files_hold(data_dir, tokens_module.digest(token)) != []
    assert token not in caplog.text


@pytest.mark.parametrize("header", ["Bearer vice_not-a-real-token", "Bearer ", "bearer nothing", "Bearer " + "x" * 300])
def test_a_bad_token_is_401_even_with_a_good_cookie(accounts_app, header):
    alice = accounts_app.test_client()
    assert signup(alice, "alice").status_code == 201
    assert alice.get("/api/me").status_code == 200
    refused = alice.get("/api/me", headers={"Authorization": header})
    assert refused.status_code == 401 and refused.get_json()["error"]["code"] == "unauthorized"
    # Also where no user is needed (sign-in), and before any CSRF check is skipped.
    assert alice.post("/api/auth/signin", json={"username": "alice", "password": PASSWORD},
                      headers={"Authorization": header}).status_code == 401
    assert alice.get("/api/me").status_code == 200  # the cookie itself still works


def test_revoked_tokens_stop_and_live_ones_survive_a_restart(make_app, data_dir):
    app = password_app(make_app)
    alice, _ = two_users(app)
    kept, revoked = make_token(alice, "kept"), make_token(alice, "to revoke")
    cli = script(app)
    assert cli.get("/api/me", headers=bearer(revoked["token"])).status_code == 200
    gone = alice.delete(f"/api/me/tokens/{revoked['info']['id']}")
    assert gone.status_code == 200 and gone.get_json() == {"revoked": True}
    assert cli.get("/api/me", headers=bearer(revoked["token"])).status_code == 401
    assert alice.delete(f"/api/me/tokens/{revoked['info']['id']}").status_code == 404

    restarted = password_app(make_app)
    cli = script(restarted)
    assert cli.get("/api/me", headers=bearer(kept["token"])).get_json()["user"]["username"] == "alice"
    assert cli.get("/api/me", headers=bearer(revoked["token"])).status_code == 401
    # Revoked in one process, refused in another that had already seen it work.
    first = script(app)
    assert first.get("/api/me", headers=bearer(kept["token"])).status_code == 200
    owner = restarted.test_client()
    assert owner.post("/api/auth/signin", json={"username": "alice", "password": PASSWORD}).status_code == 200
    assert owner.delete(f"/api/me/tokens/{kept['info']['id']}").status_code == 200
    assert first.get("/api/me", headers=bearer(kept["token"])).status_code == 401


def test_last_used_is_written_at_most_once_a_minute(accounts_app, monkeypatch):
    alice = accounts_app.test_client()
    signup(alice, "alice")
    made = make_token(alice)
    accounts = services(accounts_app).accounts
    writes = []
    original = accounts.update
    monkeypatch.setattr(accounts, "update", lambda uid, change: writes.append(uid) or original(uid, change))
    cli = script(accounts_app)
    for _ in range(5):
        assert cli.get("/api/documents", headers=bearer(made["token"])).status_code == 200
    assert len(writes) == 1
    [listed] = alice.get("/api/me/tokens").get_json()["tokens"]
    assert listed["last_used_at"] is not None


def test_token_rules(accounts_app):
    alice = accounts_app.test_client()
    signup(alice, "alice")
    token = make_token(alice, "one")["token"]
    assert alice.post("/api/me/tokens", json={"name": "ONE"}).status_code == 409
    assert alice.post("/api/me/tokens", json={"name": "   "}).get_json()["error"]["field"] == "name"
    assert alice.post("/api/me/tokens", json={"name": "x", "scope": "all"}).status_code == 400
    # A token cannot make another one (a leaked token must not breed).
    refused = script(accounts_app).post("/api/me/tokens", json={"name": "two"}, headers=bearer(token))
    assert refused.status_code == 403
    # Another user's token id is not found.
    other = accounts_app.test_client()
    assert alice.post("/api/users", json={"username": "bob", "password": PASSWORD}).status_code == 201
    other.post("/api/auth/signin", json={"username": "bob", "password": PASSWORD})
    [mine] = alice.get("/api/me/tokens").get_json()["tokens"]
    assert other.delete(f"/api/me/tokens/{mine['id']}").status_code == 404
    assert other.get("/api/me/tokens").get_json() == {"tokens": []}


def test_a_password_change_with_a_token_keeps_tokens_and_makes_no_cookie(accounts_app):
    alice = accounts_app.test_client()
    signup(alice, "alice")
    token = make_token(alice)["token"]
    cli = script(accounts_app)
    changed = cli.put("/api/me/password", json={"current_password": PASSWORD, "new_password": "another passphrase"},
                      headers=bearer(token))
    assert changed.status_code == 200 and cli.get_cookie("vice_ai_session") is None
    assert alice.get("/api/me").status_code == 401  # the browser's sign-in ended
    assert cli.get("/api/me", headers=bearer(token)).status_code == 200


def test_local_mode_has_no_tokens(make_app):
    client = make_app().test_client()
    assert client.get("/api/me/tokens").status_code == 404
    assert client.post("/api/me/tokens", json={"name": "x"}).status_code == 404
    # A Bearer header changes nothing there: no sign-in, and the CSRF header is still needed.
    no_csrf = script(make_app())
    assert no_csrf.post("/api/documents", json={"title": "x"}, headers=bearer("vice_x")).status_code == 403


def test_header_mode_accepts_tokens(make_app):
    app = make_app(AUTH="header")
    proxy = app.test_client()
    proxy.environ_base["HTTP_X_FORWARDED_USER"] = "carol"
    token = make_token(proxy)["token"]
    cli = script(app)
    assert cli.get("/api/me", headers=bearer(token)).get_json()["user"]["username"] == "carol"
    assert cli.get("/api/me", headers=bearer("vice_wrong")).status_code == 401


# -- the websocket -------------------------------------------------------------------------

def test_a_socket_opened_with_a_token_chats_and_closes_when_revoked(accounts_app, start_server):
    alice = accounts_app.test_client()
    signup(alice, "alice")
    session = make_session(alice, make_document(alice))
    made = make_token(alice)
    server = start_server(accounts_app)
    url = f"{server.ws_url}/ws/sessions/{session['id']}"
    path = f"/ws/sessions/{session['id']}"
    status, body = handshake(server.port, path, cookie=cookie_header(alice), extra=bearer("vice_wrong"))
    assert status == 401 and json.loads(body)["error"]["code"] == "unauthorized"
    # No Origin and no cookie: a script's socket.
    ws = WSClient.connect(url, headers=bearer(made["token"]))
    ws.send(json.dumps({"type": "ping"}))
    assert ws_events(ws, lambda e: e["type"] == "pong")[0]["type"] == "hello"
    ws.send(json.dumps({"type": "send", "content": "What is the budget?"}))
    done = ws_events(ws, lambda e: e["type"] in ("done", "error"))[-1]
    assert done["type"] == "done" and "40,000" in done["message"]["content"]
    # Over plain HTTP too, then revoke: the socket gets `unauthorized` and closes.
    request = urllib.request.Request(f"{server.url}/api/sessions/{session['id']}/messages", method="POST",
                                     data=json.dumps({"content": "Again"}).encode(),
                                     headers={**bearer(made["token"]), "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as sent:
        assert sent.status == 201
    assert alice.delete(f"/api/me/tokens/{made['info']['id']}").status_code == 200
    assert_signed_out_and_closed(ws)
    assert services(accounts_app).hub.subscribers(session["id"]) == []


@pytest.mark.skipif(shutil.which("curl") is None, reason="needs curl")
def test_the_readme_curl_example_chats_with_a_section(accounts_app, start_server):
    """The README's copy-paste example, run as written (its placeholders filled in) against a real server."""
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    block = readme.split("Chatting with a\nsection from a script:\n\n```\n", 1)[1].split("```", 1)[0]
    commands = [line for line in block.splitlines() if not line.startswith(("TOKEN=", "BASE="))]
    alice = accounts_app.test_client()
    signup(alice, "alice")
    doc = make_document(alice)
    chat = make_session(alice, doc)
    server = start_server(accounts_app)
    env = {"PATH": os.environ["PATH"], "TOKEN": make_token(alice)["token"], "BASE": server.url,
           "DOC": doc["id"], "SECTION": doc["sections"][0]["id"], "CHAT": chat["id"]}
    out = subprocess.run(["bash", "-euo", "pipefail", "-c", "\n".join(commands)], env=env, capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    *_, last = out.stdout.replace("}{", "}\n{").splitlines()
    answer = json.loads(last)
    assert answer["assistant_message"]["status"] == "complete" and answer["assistant_message"]["content"]
    assert len(alice.get(f"/api/documents/{doc['id']}/sections/{doc['sections'][0]['id']}/sessions")
               .get_json()["sessions"]) == 2


def test_a_token_shares_its_users_message_budget(make_app):
    app = password_app(make_app, RATE_MESSAGES="2/minute")
    alice = app.test_client()
    signup(alice, "alice")
    session = make_session(alice, make_document(alice))
    token = make_token(alice)["token"]
    url = f"/api/sessions/{session['id']}/messages"
    assert alice.post(url, json={"content": "One"}).status_code == 201
    assert script(app).post(url, json={"content": "Two"}, headers=bearer(token)).status_code == 201
    limited = script(app).post(url, json={"content": "Three"}, headers=bearer(token))
    assert limited.status_code == 429 and limited.get_json()["error"]["code"] == "rate_limited"
    assert alice.post(url, json={"content": "Four"}).status_code == 429
