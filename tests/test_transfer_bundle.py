"""Bundles: a document with its history and chats exported from one server and imported into another, equal under
new ids; bad bundles are refused with nothing left behind."""
from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from auth_helpers import password_app, two_users
from conftest import PageClient, make_document, make_session
from fake_openai import Reply, ToolCall

from vice_ai import create_app, shutdown
from vice_ai.domain.bundle import Ids, session_data
from vice_ai.domain.bundle_format import BundleSession


@pytest.fixture
def other(tmp_path):
    """A second server with a data folder of its own, and a way to restart it."""
    folder = tmp_path / "other-server"
    folder.mkdir()
    apps = []

    def start(**config: Any):
        app = create_app({"TESTING": True, "DATA_DIR": str(folder), "AUTH": "local", "API_CHECK_RESPONSES": True,
                          **config})
        app.test_client_class = PageClient
        apps.append(app)
        return app.test_client()

    start.folder = folder  # type: ignore[attr-defined]
    yield start
    for app in apps:
        shutdown(app)


def upload(client, data: bytes, name: str = "doc.vice.zip", **form: str):
    return client.post("/api/documents/import", data={"file": (io.BytesIO(data), name), **form},
                       content_type="multipart/form-data")


def export(client, doc_id: str) -> bytes:
    resp = client.get(f"/api/documents/{doc_id}/export?format=bundle")
    assert resp.status_code == 200 and resp.mimetype == "application/zip", resp.data[:200]
    return resp.data


@pytest.fixture
def source(model_app, fake_openai):
    """A document whose history came from chats: an accepted suggestion, an applied reply, a deleted chat."""
    client = model_app.test_client()
    doc = make_document(client, "Grant proposal")
    client.patch(f"/api/documents/{doc['id']}", json={"description": "For the spring call"})
    chat = make_session(client, doc, title="Budget")
    fake_openai.script(
        Reply(text="", tool_calls=[
            ToolCall("propose_section_edit", json.dumps({"new_content": "Budget: 50,000.", "summary": "Raise"})),
            ToolCall("start_notification_stream", json.dumps({"goal": "watch", "interval_seconds": 3600}))]),
        Reply(text="Proposed a raise."),
        Reply(text="Add a line about travel."),
        Reply(text="Gone soon."))
    assert client.post(f"/api/sessions/{chat['id']}/messages", json={"content": "Raise it"}).status_code == 201
    [suggestion] = client.get(f"/api/sessions/{chat['id']}/suggestions").get_json()["suggestions"]
    assert client.post(f"/api/sessions/{chat['id']}/suggestions/{suggestion['id']}/accept", json={}).status_code == 200
    sent = client.post(f"/api/sessions/{chat['id']}/messages", json={"content": "And travel?"}).get_json()
    applied = client.post(f"/api/sessions/{chat['id']}/apply",
                          json={"message_id": sent["assistant_message"]["id"], "mode": "append"})
    assert applied.status_code == 200
    methods = doc["sections"][1]
    client.patch(f"/api/documents/{doc['id']}/sections/{methods['id']}", json={"version": 1, "content": "Forty."})
    notes = make_session(client, doc, 1, title="Notes")
    client.patch(f"/api/sessions/{notes['id']}", json={"archived": True, "variables": {"tone": "dry"}})
    gone = make_session(client, doc, 1, title="Gone")
    reply = client.post(f"/api/sessions/{gone['id']}/messages", json={"content": "Say it"}).get_json()
    client.post(f"/api/sessions/{gone['id']}/apply", json={"message_id": reply["assistant_message"]["id"],
                                                          "mode": "replace"})
    assert client.delete(f"/api/sessions/{gone['id']}").status_code == 200
    return client, doc["id"]


def chats_of(client, doc: dict) -> list[dict]:
    """Every chat of a document (archived too) with its messages, in section order."""
    found = []
    for section in doc["sections"]:
        listed = client.get(f"/api/documents/{doc['id']}/sections/{section['id']}/sessions?archived=1").get_json()
        found += [client.get(f"/api/sessions/{s['id']}").get_json() for s in reversed(listed["sessions"])]
    return found


def history_of(client, doc: dict) -> list[list[dict]]:
    return [client.get(f"/api/documents/{doc['id']}/sections/{s['id']}/versions").get_json()["versions"]
            for s in doc["sections"]]


SECTION_FIELDS = ("title", "content", "type", "level", "status", "version", "created_at")
MESSAGE_FIELDS = ("role", "content", "status", "created_at", "model", "section_version", "tool_calls", "receipt")


def test_a_bundle_imports_into_another_server_as_an_equal_document(source, other):
    client, doc_id = source
    original = client.get(f"/api/documents/{doc_id}").get_json()
    data = export(client, doc_id)
    target = other()
    resp = upload(target, data)
    assert resp.status_code == 201, resp.get_json()
    assert resp.get_json()["imported_from"] == "bundle" and resp.get_json()["sessions"] == 2
    copy = target.get(f"/api/documents/{resp.get_json()['id']}").get_json()

    # The document: same text, versions and history; every id new.
    assert (copy["title"], copy["description"]) == ("Grant proposal", "For the spring call")
    assert [[s[k] for k in SECTION_FIELDS] for s in copy["sections"]] == [
        [s[k] for k in SECTION_FIELDS] for s in original["sections"]]
    assert not {copy["id"], *(s["id"] for s in copy["sections"])} & {
        original["id"], *(s["id"] for s in original["sections"])}
    old_history, new_history = history_of(client, original), history_of(target, copy)
    strip = ("session_id", "message_id", "suggestion_id", "chat_deleted")
    assert [[{**v, "source": {k: x for k, x in v["source"].items() if k not in strip}} for v in h]
            for h in new_history] == [
        [{**v, "source": {k: x for k, x in v["source"].items() if k not in strip}} for v in h] for h in old_history]

    # The chats: same messages in the same order, parents linked under new ids.
    old_chats, new_chats = chats_of(client, original), chats_of(target, copy)
    assert [(c["title"], c["archived"], c["variables"]) for c in new_chats] == [
        ("Budget", False, {}), ("Notes", True, {"tone": "dry"})]
    messages: dict[str, dict] = {}  # new message id -> new message
    old_to_new: dict[str, str] = {}
    for old, new in zip(old_chats, new_chats, strict=True):
        assert new["id"] != old["id"] and new["owner"] == "local"
        assert [[m[k] for k in MESSAGE_FIELDS] for m in new["messages"]] == [
            [m[k] for k in MESSAGE_FIELDS] for m in old["messages"]]
        for o, n in zip(old["messages"], new["messages"], strict=True):
            assert n["id"] != o["id"]
            old_to_new[o["id"]] = n["id"]
            messages[n["id"]] = n
        for o, n in zip(old["messages"], new["messages"], strict=True):
            assert n["parent_id"] == (old_to_new[o["parent_id"]] if o["parent_id"] else None)
    assert all(m["parent_id"] for c in new_chats for m in c["messages"][1:])

    # Versions that came from a chat message name the new chat and message.
    budget = new_chats[0]
    sources = [v["source"] for v in new_history[0]]
    assert [s["kind"] for s in sources] == ["edit", "chat", "chat"]
    accepted, appended = sources[1], sources[2]
    assert accepted["session_id"] == appended["session_id"] == budget["id"]
    assert messages[appended["message_id"]]["content"] == "Add a line about travel."
    [suggestion] = target.get(f"/api/sessions/{budget['id']}/suggestions").get_json()["suggestions"]
    assert accepted["suggestion_id"] == suggestion["id"] and suggestion["status"] == "accepted"
    assert messages[suggestion["message_id"]]["tool_calls"]
    # The deleted chat's version keeps its text and says its chat is gone.
    assert new_history[1][-1]["source"] == {"kind": "chat", "mode": "replace", "chat_deleted": True, "user": "local"}
    assert new_history[1][-1]["content"] == "Gone soon."
    # A notification stream does not start on the new server by itself.
    [stream] = target.get(f"/api/sessions/{budget['id']}/streams").get_json()["streams"]
    assert (stream["status"], stream["stopped_reason"], stream["running"]) == ("stopped", "imported", False)

    # The imported chats are searchable on the new server at once (not only after an index rebuild).
    found = target.get("/api/search?q=travel").get_json()["results"]
    assert {(r["kind"], r["session_id"]) for r in found if r["kind"] == "message"} == {("message", budget["id"])}

    # Everything is on disk: a restart of the second server shows the same.
    again = other()
    assert again.get(f"/api/documents/{copy['id']}").get_json()["sections"] == copy["sections"]
    assert [c["messages"] for c in chats_of(again, copy)] == [c["messages"] for c in new_chats]


def test_a_bundle_imported_twice_makes_two_documents(source, other):
    client, doc_id = source
    data = export(client, doc_id)
    target = other()
    first, second = upload(target, data).get_json(), upload(target, data, title="Second copy").get_json()
    assert first["id"] != second["id"] and second["title"] == "Second copy"
    assert not {s["id"] for s in first["sections"]} & {s["id"] for s in second["sections"]}


def test_the_importing_user_owns_the_document_and_its_chats(make_app):
    app = password_app(make_app)
    alice, bob = two_users(app)
    doc = make_document(alice)
    make_session(alice, doc)
    data = export(alice, doc["id"])
    assert b"alice" not in data  # no owner or shares travel with the bundle
    resp = upload(bob, data)
    assert resp.status_code == 201
    copy = resp.get_json()
    me = bob.get("/api/me").get_json()["user"]["id"]
    assert copy["owner"] == me and copy["access"] == "owner" and copy["shared_with"] == []
    [chat] = chats_of(bob, copy)
    assert chat["owner"] == me and chat["access"] == "edit"
    assert alice.get(f"/api/documents/{copy['id']}").status_code == 404


def test_an_active_leaf_and_parents_are_renamed_with_their_messages():
    session = BundleSession.model_validate({
        "id": "s", "section_id": "a", "title": "t", "created_at": "2026-01-01T00:00:00Z",
        "updated_at": "2026-01-01T00:00:00Z", "active_leaf": "m2", "branch_note": "kept as it is",
        "messages": [
            {"id": "m1", "role": "user", "content": "q", "created_at": "2026-01-01T00:00:00Z", "status": "complete"},
            {"id": "m2", "parent_id": "m1", "role": "assistant", "content": "a", "created_at": "2026-01-01T00:00:00Z",
             "status": "streaming"},
            {"id": "m3", "parent_id": "m1", "role": "assistant", "content": "b", "created_at": "2026-01-01T00:00:00Z",
             "status": "complete"}]})
    ids = Ids()
    data = session_data(session, ids, "doc", "me")
    m1, m2, m3 = data["messages"]
    assert data["active_leaf"] == m2["id"] == ids("message", "s", "m2") and m2["id"] != "m2"
    assert m2["parent_id"] == m3["parent_id"] == m1["id"] != "m1"
    assert m2["status"] == "interrupted" and m2["error"]["reason"] == "server_restart"
    assert data["branch_note"] == "kept as it is" and data["owner"] == "me" and data["section_id"] == ids("section", "a")


# ---- bad bundles ----

def rezip(data: bytes, **changes: Callable[[Any], Any] | bytes | None) -> bytes:
    """The bundle with some files changed: a function of the parsed JSON, raw bytes, or None to drop it."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as old, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as new:
        names = [i.filename for i in old.infolist()]
        for name in names + [n for n in changes if n not in names]:
            change = changes.get(name, lambda v: v)
            if change is None:
                continue
            if isinstance(change, bytes):
                new.writestr(name, change)
            else:
                value = change(json.loads(old.read(name))) if name in names else change(None)
                new.writestr(name, json.dumps(value))
    return out.getvalue()


def _set(path: str, value: Any) -> Callable[[Any], Any]:
    """Set a value inside parsed JSON at a dotted path (numbers index lists)."""
    def change(data: Any) -> Any:
        *parents, last = [int(p) if p.isdigit() else p for p in path.split(".")]
        node = data
        for part in parents:
            node = node[part]
        node[last] = value
        return data
    return change


def _files(folder: Path) -> list[str]:
    """The files of documents and chats (their data and lock files) in a data folder."""
    return sorted(p.name for kind in ("documents", "sessions", "locks") if (folder / kind).exists()
                  for p in (folder / kind).iterdir() if kind != "locks" or p.name.startswith(("documents-", "sessions-")))


BAD = {
    "wrong format version": ({"manifest.json": _set("version", 2)}, 400, "format version 2; this server reads version 1"),
    "not a bundle": ({"manifest.json": _set("format", "other")}, 400, "not a VICE AI bundle"),
    "broken JSON": ({"document.json": b'{"title": '}, 400, "document.json in the bundle is not valid JSON"),
    "NaN": ({"document.json": b'{"title": NaN}'}, 400, "document.json in the bundle is not valid JSON"),
    "a missing chat": ({"sessions/2.json": None}, 400, "missing: sessions/2.json"),
    "a path from elsewhere": ({"../evil.json": b"{}"}, 400, "unexpected: ../evil.json"),
    "a parent pointing nowhere": ({"sessions/1.json": _set("messages.1.parent_id", "nowhere")}, 400,
                                  "parent nowhere is not in the chat"),
    "a version from a message that is not there": (
        {"document.json": _set("sections.0.history.2.source.message_id", "nowhere")}, 400,
        "version 3 of \u201cSummary\u201d comes from a chat or message that is not in the bundle"),
    "a chat no section lists": ({"document.json": _set("sections.0.session_ids", [])}, 400,
                                "belongs to a section that does not list it"),
    "a section listing a stranger": ({"document.json": _set("sections.1.session_ids", ["stranger"])}, 400,
                                     "lists the chat stranger that is not in it"),
    "a wrong type": ({"document.json": _set("sections.0.level", "2")}, 400,
                     "document.json: sections[0].level: Input should be a valid integer"),
    "a title over the limit": ({"document.json": _set("title", "x" * 301)}, 400,
                               "document.json: title: longer than 300 characters"),
    "a time that is not one": ({"sessions/1.json": _set("created_at", "yesterday")}, 400,
                               "sessions/1.json: created_at: not an ISO 8601 time"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_bundles_are_refused_and_leave_nothing(source, other, case):
    client, doc_id = source
    changes, status, words = BAD[case]
    data = rezip(export(client, doc_id), **changes)
    target = other()
    resp = upload(target, data)
    assert resp.status_code == status, resp.get_json()
    assert words in resp.get_json()["error"]["message"]
    assert target.get("/api/documents").get_json()["documents"] == []
    assert _files(other.folder) == []


def test_a_broken_zip_is_a_400(source, other):
    client, doc_id = source
    data = export(client, doc_id)
    target = other()
    resp = upload(target, data[: len(data) // 2])
    assert resp.status_code == 400 and "broken zip file" in resp.get_json()["error"]["message"]
    resp = upload(target, data[:-30])
    assert resp.status_code == 400
    assert _files(other.folder) == []


def test_bundles_over_the_limits_are_413(source, other):
    client, doc_id = source
    data = export(client, doc_id)
    small = other(MAX_UPLOAD_BYTES=len(data) - 1)
    resp = upload(small, data)
    assert resp.status_code == 413 and resp.get_json()["error"]["code"] == "payload_too_large"
    # A small file that unpacks to more than five times the upload limit.
    bomb = rezip(data, **{"sessions/1.json": b" " * (5 * len(data) + 1)})
    assert len(bomb) < len(data)
    resp = upload(other(MAX_UPLOAD_BYTES=len(data)), bomb)
    assert resp.status_code == 413 and "unpacks to more than" in resp.get_json()["error"]["message"]
    assert _files(other.folder) == []


def test_a_failed_write_leaves_nothing(source, other, monkeypatch):
    client, doc_id = source
    data = export(client, doc_id)
    target = other()
    from vice_ai.domain.state import AppState
    from vice_ai.errors import StorageFull

    seen: list[list[str]] = []

    def refuse(self, doc):
        seen.append(_files(other.folder))
        raise StorageFull()

    monkeypatch.setattr(AppState, "create_document", refuse)  # the chats are written, the document is not
    resp = upload(target, data)
    assert resp.status_code == 507 and resp.get_json()["error"]["code"] == "storage_full"
    assert len([name for name in seen[0] if name.endswith(".json")]) == 2  # both chats were written, then removed
    assert _files(other.folder) == []
    assert target.get("/api/documents").get_json()["documents"] == []


def test_secrets_in_a_hand_made_bundle_are_redacted_as_when_stored(source, other):
    client, doc_id = source
    key = "sk-proj-" + "a1B2" * 8
    data = rezip(export(client, doc_id), **{
        "sessions/1.json": lambda s: {**s, "title": f"Budget {key}",
                                      "config": {**s["config"], "system_prompt": f"Use {key}"},
                                      "messages": [{**m, "content": f"{m['content']} {key}"} for m in s["messages"]]}})
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert key in archive.read("sessions/1.json").decode()
    target = other()
    copy = upload(target, data).get_json()
    [chat, _] = chats_of(target, copy)
    text = json.dumps(chat)
    assert key not in text and "[redacted: api key]" in text
    assert chat["title"] == "Budget [redacted: api key]"


def test_a_chat_setting_of_the_wrong_type_is_a_400(source, other):
    client, doc_id = source
    data = rezip(export(client, doc_id), **{"sessions/1.json": _set("config.system_prompt", 42)})
    resp = upload(other(), data)
    assert resp.status_code == 400
    assert resp.get_json()["error"]["message"].startswith("sessions/1.json: config.system_prompt:")
