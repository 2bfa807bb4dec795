"""Archiving inactive chats: flagged and hidden, never deleted; by the background job and by an admin."""
from __future__ import annotations

import json
import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from auth_helpers import password_app, two_users
from conftest import make_document, make_session

from vice_ai import shutdown
from vice_ai.services import services


def age_session(data_dir: str, session_id: str, days: float) -> None:
    """Make a session look untouched for `days` days: its timestamps and its files' times."""
    then = datetime.now(UTC) - timedelta(days=days)
    stamp = then.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    folder = Path(data_dir) / "sessions"
    snapshot = folder / f"{session_id}.json"
    envelope = json.loads(snapshot.read_text())
    envelope["data"]["updated_at"] = envelope["data"]["created_at"] = stamp
    snapshot.write_text(json.dumps(envelope))
    journal = folder / f"{session_id}.journal"
    if journal.exists():
        journal.write_bytes(b"")  # its records would bring updated_at back to today
    for path in folder.glob(f"{session_id}.*"):
        os.utime(path, (then.timestamp(), then.timestamp()))


def chats(client, session: dict, archived: bool = False) -> list[str]:
    url = f"/api/documents/{session['document_id']}/sections/{session['section_id']}/sessions"
    return [s["id"] for s in client.get(url + ("?archived=1" if archived else "")).get_json()["sessions"]]


def test_the_admin_endpoint_archives_old_chats_only(make_app, data_dir):
    client = make_app().test_client()
    doc = make_document(client)
    old, recent = make_session(client, doc, title="Old"), make_session(client, doc, title="Recent")
    age_session(data_dir, old["id"], days=120)
    restarted = make_app().test_client()  # reads the aged files
    resp = restarted.post("/api/admin/archive")
    assert resp.status_code == 200 and resp.get_json() == {"archived": [old["id"]], "after_days": 90}
    assert chats(restarted, old) == [recent["id"]]
    assert set(chats(restarted, old, archived=True)) == {old["id"], recent["id"]}
    kept = restarted.get(f"/api/sessions/{old['id']}").get_json()
    assert kept["archived"] is True and kept["archived_at"] and kept["title"] == "Old"
    assert (Path(data_dir) / "sessions" / f"{old['id']}.json").exists()
    assert restarted.post("/api/admin/archive").get_json()["archived"] == []  # nothing twice


def test_talking_to_an_archived_chat_brings_it_back(make_app, data_dir):
    client = make_app().test_client()
    session = make_session(client, make_document(client))
    age_session(data_dir, session["id"], days=100)
    restarted = make_app().test_client()
    restarted.post("/api/admin/archive")
    assert chats(restarted, session) == []
    assert restarted.post(f"/api/sessions/{session['id']}/messages", json={"content": "Still there?"}).status_code == 201
    assert chats(restarted, session) == [session["id"]]
    restarted.patch(f"/api/sessions/{session['id']}", json={"archived": True})
    assert chats(restarted, session) == []
    restarted.patch(f"/api/sessions/{session['id']}", json={"archived": False})
    assert chats(restarted, session) == [session["id"]]


def test_the_background_job_archives_and_stops_cleanly(make_app, data_dir):
    client = make_app().test_client()
    session = make_session(client, make_document(client))
    age_session(data_dir, session["id"], days=100)
    app = make_app(ARCHIVE_FIRST_DELAY=0.01, ARCHIVE_INTERVAL=0.05)
    restarted = app.test_client()
    deadline = time.monotonic() + 10
    while chats(restarted, session) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert chats(restarted, session) == []
    assert services(app).archiver.running
    shutdown(app)
    assert services(app).archiver.running is False


def test_the_first_request_does_not_wait_for_a_scan(make_app, data_dir):
    client = make_app().test_client()
    session = make_session(client, make_document(client))
    age_session(data_dir, session["id"], days=100)
    restarted = make_app().test_client()  # the job's first pass waits a minute by default
    assert chats(restarted, session) == [session["id"]]


def test_zero_days_never_archives(make_app, data_dir):
    client = make_app().test_client()
    session = make_session(client, make_document(client))
    age_session(data_dir, session["id"], days=1000)
    app = make_app(ARCHIVE_AFTER_DAYS=0, ARCHIVE_FIRST_DELAY=0.0)
    assert app.test_client().post("/api/admin/archive").get_json()["archived"] == []
    assert services(app).archiver.running is False  # no job thread at all


def test_archiving_is_for_admins(make_app):
    app = password_app(make_app)
    alice, bob = two_users(app)
    assert alice.post("/api/admin/archive").status_code == 200
    assert bob.post("/api/admin/archive").status_code == 404
