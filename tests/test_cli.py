"""`flask --app vice_ai ...`: accounts and backups for a server without a browser.

Through Flask's CliRunner on the test app, and as real subprocesses on a temporary
data folder (VICE_AI_DATA_DIR), the way an operator runs them.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from auth_helpers import PASSWORD, password_app, signin, signup
from conftest import make_document, make_session

from vice_ai import services
from vice_ai.domain.models import Message
from vice_ai.domain.state import AppState
from vice_ai.storage.store import Store

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def accounts_app(make_app):
    return password_app(make_app)


def run(app, *args: str, stdin: str | None = None):
    return app.test_cli_runner().invoke(args=list(args), input=stdin)


def test_create_user_from_stdin_or_a_hidden_prompt(accounts_app):
    made = run(accounts_app, "create-user", "alice", "--password-stdin", stdin=PASSWORD + "\n")
    assert made.exit_code == 0 and "alice (admin)" in made.output  # the first account is an admin
    prompted = run(accounts_app, "create-user", "bob", stdin=f"{PASSWORD}\n{PASSWORD}\n")
    assert prompted.exit_code == 0, prompted.output
    assert PASSWORD not in prompted.output and "Repeat for confirmation" in prompted.output
    client = accounts_app.test_client()
    assert signin(client, "bob").status_code == 200
    assert client.get("/api/me").get_json()["user"]["is_admin"] is False


@pytest.mark.parametrize("args, stdin, message", [
    (["create-user", "alice", "--password-stdin"], PASSWORD + "\n", "taken"),
    (["create-user", "ALICE", "--password-stdin"], PASSWORD + "\n", "taken"),
    (["create-user", "carol", "--password-stdin"], "short\n", "at least 8"),
    (["create-user", "bad name", "--password-stdin"], PASSWORD + "\n", "username"),
    (["create-user", "carol", "--password-stdin"], "", "No password"),
    (["create-user", "carol"], f"{PASSWORD}\nsomething else\n{PASSWORD}\n", "Error"),
    (["reset-password", "nobody", "--password-stdin"], PASSWORD + "\n", "No user named 'nobody'"),
    (["set-admin", "nobody"], None, "No user named"),
    (["set-admin", "alice", "--remove"], None, "last admin"),
])
def test_mistakes_are_clear_and_exit_non_zero(accounts_app, args, stdin, message):
    assert run(accounts_app, "create-user", "alice", "--password-stdin", stdin=PASSWORD + "\n").exit_code == 0
    result = run(accounts_app, *args, stdin=stdin)
    assert result.exit_code != 0 and message in result.output, result.output
    assert "Traceback" not in result.output


def test_reset_password_ends_sign_ins_and_list_users(accounts_app):
    browser = accounts_app.test_client()
    assert signup(browser, "alice").status_code == 201
    assert browser.post("/api/me/tokens", json={"name": "script"}).status_code == 201
    done = run(accounts_app, "reset-password", "alice", "--password-stdin", stdin="a new passphrase\n")
    assert done.exit_code == 0, done.output
    assert browser.get("/api/me").status_code == 401
    assert signin(browser, "alice", "a new passphrase").status_code == 200
    run(accounts_app, "create-user", "bob", "--password-stdin", stdin=PASSWORD + "\n")
    assert run(accounts_app, "set-admin", "bob").exit_code == 0
    assert run(accounts_app, "set-admin", "alice", "--remove").exit_code == 0
    listed = run(accounts_app, "list-users").output.splitlines()
    assert [line.split()[:2] for line in listed] == [["alice", "user"], ["bob", "admin"]]
    assert "tokens 1" in listed[0]


def flask_cli(data_dir: str, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VICE_AI_", "OPENAI_", "FLASK_"))}
    env["VICE_AI_DATA_DIR"] = data_dir
    return subprocess.run([sys.executable, "-m", "flask", "--app", "vice_ai", *args], input=stdin, cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=120)


def test_the_real_command_line_on_a_data_folder_in_use(make_app, data_dir):
    # A chat whose reply another process is writing right now: a command must leave it alone
    # (the server's start-up repair would mark it interrupted).
    app = make_app()
    local = app.test_client()
    session = make_session(local, make_document(local))
    assert services(app).repairer.finished.wait(10)  # this process's own start-up pass is over
    state = AppState(Store(data_dir))
    question = state.append_message(session["id"], Message(role="user", content="Go on"))
    state.append_message(session["id"], Message(role="assistant", content="Half", parent_id=question.id,
                                                status="streaming"))

    made = flask_cli(data_dir, "create-user", "root", "--admin", "--password-stdin", stdin=PASSWORD + "\n")
    assert made.returncode == 0 and "Created root (admin)." in made.stdout, made.stderr
    again = flask_cli(data_dir, "create-user", "root", "--password-stdin", stdin=PASSWORD + "\n")
    assert again.returncode == 1 and "That username is taken." in again.stderr
    listed = flask_cli(data_dir, "list-users")
    assert listed.returncode == 0 and listed.stdout.startswith("root ")

    stored = AppState(Store(data_dir)).get_chat_session(session["id"])
    assert [m.status for m in stored.messages] == ["complete", "streaming"]
    client = password_app(make_app).test_client()  # a server on the same folder sees the account
    assert signin(client, "root").status_code == 200


def test_backup_copies_a_consistent_folder_that_a_new_server_opens(make_app, data_dir, tmp_path):
    app = password_app(make_app)
    alice = app.test_client()
    signup(alice, "alice")
    doc = make_document(alice)
    session = make_session(alice, doc)
    assert alice.post(f"/api/sessions/{session['id']}/messages", json={"content": "Budget?"}).status_code == 201
    dest = tmp_path / "backups" / "today"
    done = run(app, "backup", str(dest))
    assert done.exit_code == 0, done.output
    assert "1 documents, 1 sessions, 1 users" in done.output
    assert (dest / "secret_key").stat().st_mode & 0o077 == 0
    assert not any(dest.parent.glob(".today.partial-*"))
    # A new server on the copy: same accounts, cookies, documents and chats.
    restored = password_app(make_app, DATA_DIR=str(dest))
    copy = restored.test_client()
    copy.set_cookie("vice_ai_session", alice.get_cookie("vice_ai_session").value)
    assert copy.get("/api/me").get_json()["user"]["username"] == "alice"
    messages = copy.get(f"/api/sessions/{session['id']}").get_json()["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant"]
    assert copy.get(f"/api/documents/{doc['id']}").get_json()["title"] == doc["title"]
    # Never over an existing folder, nor inside the data folder.
    assert run(app, "backup", str(dest)).exit_code == 1
    inside = run(app, "backup", str(Path(data_dir) / "copy"))
    assert inside.exit_code == 1 and "inside the data folder" in inside.output
    assert json.loads((dest / "users").joinpath(next(p.name for p in (dest / "users").iterdir())).read_text())


def test_flask_finds_the_factory_with_its_defaults(data_dir):
    """`flask --app vice_ai` builds create_app() itself: accounts mode, the data folder from the environment."""
    shown = flask_cli(data_dir, "--help")
    assert shown.returncode == 0
    for command in ("create-user", "reset-password", "list-users", "set-admin", "backup"):
        assert command in shown.stdout
    assert (Path(data_dir) / "users").is_dir()
