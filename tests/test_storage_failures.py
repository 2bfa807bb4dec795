"""A data folder that cannot take writes: a full disk, a read-only folder, a folder deleted while the server runs.

The disk is really full (a 1 MiB tmpfs filled up) or the OS is made to answer
ENOSPC / EROFS at its boundary (`os.pwrite`, `os.replace`, `os.open` refused
for files of the data folder); read-only folders are real read-only bind
mounts. Mounting needs root: those tests skip, with the reason, where the
machine refuses it. What must hold: writes answer 507 (full) or 503 (read-only,
gone) with a message that says so, reads keep working, the tabs are told the
truth, nothing acknowledged is lost, and `/api/health` says what is wrong.
"""
from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from conftest import connect_ws, make_document, make_session, model_config, ws_events
from fake_openai import Reply

from vice_ai import create_app, shutdown
from vice_ai.chat import streaming as streaming_module
from vice_ai.services import services

WORDS = [f"word{k} " for k in range(60)]


def _fd_path(fd: int) -> str:
    try:
        return os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        return ""


class WriteRefusal:
    """The OS refusing writes to the data folder with one errno, switched on and off (a monkeypatch at the OS boundary).

    ENOSPC is refused where a full disk refuses: new journal bytes (`os.pwrite`
    to a journal) and new files put in place (`os.replace`); overwriting the
    16 bytes of a lock file still works, as it does on a full disk. EROFS also
    refuses opening any file of the folder for writing, as a read-only mount does.
    """

    def __init__(self, monkeypatch: pytest.MonkeyPatch, root: str, code: int) -> None:
        self.root, self.code, self.on = os.path.realpath(root), code, False
        self.refused = 0
        real_pwrite, real_replace, real_open = os.pwrite, os.replace, os.open

        def mine(path: str) -> bool:
            return self.on and os.path.realpath(path).startswith(self.root + os.sep)

        def refuse(path: str) -> None:
            self.refused += 1
            raise OSError(self.code, os.strerror(self.code), path)

        def pwrite(fd: int, data: bytes, offset: int) -> int:
            path = _fd_path(fd) if self.on else ""
            if mine(path) and (code == errno.EROFS or path.endswith(".journal")):
                refuse(path)
            return real_pwrite(fd, data, offset)

        def replace(src: str, dst: str, **kwargs) -> None:
            if mine(str(dst)):
                refuse(str(dst))
            real_replace(src, dst, **kwargs)

        def open_(path, flags: int, mode: int = 0o777, **kwargs) -> int:
            if code == errno.EROFS and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT) and mine(os.fspath(path)):
                refuse(os.fspath(path))
            return real_open(path, flags, mode, **kwargs)

        monkeypatch.setattr(os, "pwrite", pwrite)
        monkeypatch.setattr(os, "replace", replace)
        monkeypatch.setattr(os, "open", open_)


def _mount(*args: str) -> None:
    done = subprocess.run(["mount", *args], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"this machine refuses `mount {' '.join(args)}`: {done.stderr.strip() or done.returncode}")


@pytest.fixture
def mounts() -> Iterator[Callable[..., None]]:
    """Mount with `mount(*args, target)` (skips when the machine refuses); everything is unmounted at the end."""
    targets: list[str] = []

    def _do(*args: str) -> None:
        _mount(*args)
        targets.append(args[-1])

    yield _do
    for target in reversed(targets):
        subprocess.run(["umount", "-l", target], capture_output=True)


def fill(folder: Path) -> Path:
    """Fill the file system of `folder` until the OS says ENOSPC; the filler file, to free space later."""
    path = folder / "filler"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        while True:
            os.write(fd, b"x" * 4096)
    except OSError as exc:
        assert exc.errno == errno.ENOSPC
    finally:
        os.close(fd)
    return path


def serve(data: str | Path, **config):
    app = create_app({"TESTING": True, "DATA_DIR": str(data), "AUTH": "local", "API_CHECK_RESPONSES": True, **config})
    client = app.test_client()
    client.environ_base["HTTP_X_VICE_CSRF"] = "1"
    return app, client


def health(client) -> dict:
    resp = client.get("/api/health")
    assert resp.status_code == 200
    return resp.get_json()


# -- 5: disk full ---------------------------------------------------------------------

def test_a_full_disk_answers_507_keeps_reads_and_recovers(tmp_path, mounts):
    """A real full disk (tmpfs): writes 507 saying so, reads fine, health says `full`, then it works again."""
    mnt = tmp_path / "small"
    mnt.mkdir()
    mounts("-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mnt))
    app, client = serve(mnt / "data")
    try:
        doc = make_document(client)
        session = make_session(client, doc)
        assert client.post(f"/api/sessions/{session['id']}/messages", json={"content": "before"}).status_code == 201
        # The app's background writers (the search index, compactions) finish first: one of them freeing space
        # after the fill (a WAL checkpoint, say) would let the next write through.
        assert services(app).search.flush(10) and services(app).state.compactor.wait_idle(10)
        filler = fill(mnt)

        for resp in (client.post("/api/documents", json={"title": "More", "sections": []}),
                     client.post(f"/api/sessions/{session['id']}/messages", json={"content": "x " * 20_000})):
            assert resp.status_code == 507, resp.get_json()
            error = resp.get_json()["error"]
            assert error["code"] == "storage_full" and "disk is full" in error["message"]
        assert client.get(f"/api/documents/{doc['id']}").status_code == 200
        got = client.get(f"/api/sessions/{session['id']}")
        assert got.status_code == 200
        assert [m["content"] for m in got.get_json()["messages"] if m["role"] == "user"] == ["before"]
        state = health(client)
        assert (state["status"], state["storage"], state["read_only"]) == ("degraded", "full", False)
        assert "disk is full" in client.get("/").get_data(as_text=True)  # the page's banner

        filler.unlink()
        assert client.post("/api/documents", json={"title": "More", "sections": []}).status_code == 201
        assert health(client)["storage"] == "ok"
    finally:
        shutdown(app)


def test_disk_full_while_a_reply_streams_tells_the_tabs_and_loses_nothing(
        make_app, fake_openai, start_server, data_dir, monkeypatch):
    """ENOSPC mid-reply: the `error` event says storage_full (not model_error), GET still answers, 0 acknowledged lost."""
    monkeypatch.setattr(streaming_module, "CHECKPOINT_SECONDS", 0.05)
    refusal = WriteRefusal(monkeypatch, data_dir, errno.ENOSPC)
    app = make_app(**model_config(fake_openai))
    client = app.test_client()
    session = make_session(client, make_document(client))
    fake_openai.script(Reply(tokens=WORDS, delay=0.03))
    server = start_server(app)
    ws = connect_ws(server, session["id"])
    try:
        ws.send(json.dumps({"type": "send", "content": "Write a long answer."}))
        events = ws_events(ws, lambda e: e["type"] == "delta")
        acknowledged = next(e["message"] for e in events if e["type"] == "user_message")
        refusal.on = True  # the disk fills up while the reply streams
        final = ws_events(ws, lambda e: e["type"] in ("done", "error", "stopped"))[-1]
    finally:
        ws.close()
    assert final["type"] == "error", final
    assert final["error"]["code"] == "storage_full" and final["error"]["reason"] == "storage_full"
    assert final["error"]["retryable"] is True and "disk is full" in final["error"]["message"]
    assert final["message"]["status"] in ("interrupted", "error")
    assert refusal.refused > 0

    got = client.get(f"/api/sessions/{session['id']}")  # the disk is still full: reading must not need a write
    assert got.status_code == 200, got.get_json()
    assert acknowledged["id"] in [m["id"] for m in got.get_json()["messages"]]
    assert health(client)["storage"] == "full"
    blocked = client.post(f"/api/sessions/{session['id']}/messages", json={"content": "again"})
    assert blocked.status_code == 507 and blocked.get_json()["error"]["code"] == "storage_full"

    refusal.on = False
    after = make_app(**model_config(fake_openai)).test_client()  # a restart, with room again
    messages = after.get(f"/api/sessions/{session['id']}").get_json()["messages"]
    assert acknowledged["id"] in [m["id"] for m in messages]
    reply = next(m for m in messages if m["role"] == "assistant")
    assert reply["status"] == "interrupted"  # marked now that it can be written; what had arrived is kept


def test_a_blocking_round_whose_reply_cannot_be_saved_answers_507_with_both_messages(
        make_app, fake_openai, data_dir, monkeypatch):
    monkeypatch.setattr(streaming_module, "CHECKPOINT_SECONDS", 0.05)
    refusal = WriteRefusal(monkeypatch, data_dir, errno.ENOSPC)
    app = make_app(**model_config(fake_openai))
    client = app.test_client()
    session = make_session(client, make_document(client))
    fake_openai.script(Reply(tokens=WORDS[:20], delay=0.03))
    original_append = services(app).state.append_message

    def append_then_fill(session_id, message, changes=None):
        saved = original_append(session_id, message, changes)
        refusal.on = True  # the disk fills up right after the user message was saved
        return saved

    monkeypatch.setattr(services(app).state, "append_message", append_then_fill)
    resp = client.post(f"/api/sessions/{session['id']}/messages", json={"content": "hello"})
    assert resp.status_code == 507, resp.get_json()
    error = resp.get_json()["error"]
    assert error["code"] == "storage_full" and error["user_message"]["content"] == "hello"
    refusal.on = False
    messages = make_app().test_client().get(f"/api/sessions/{session['id']}").get_json()["messages"]
    assert [m["content"] for m in messages if m["role"] == "user"] == ["hello"]


# -- 6: read-only data folder --------------------------------------------------------

def _populated(data: Path) -> tuple[str, str]:
    app, client = serve(data)
    try:
        doc = make_document(client)
        session = make_session(client, doc)
        assert client.post(f"/api/sessions/{session['id']}/messages", json={"content": "hello"}).status_code == 201
    finally:
        shutdown(app)
    return doc["id"], session["id"]


def test_a_read_only_data_folder_is_served_read_only(tmp_path, mounts):
    """A read-only bind mount: health says read_only, reads answer, writes 503, the pages show a banner."""
    data, ro = tmp_path / "data", tmp_path / "ro"
    data.mkdir()
    ro.mkdir()
    doc_id, session_id = _populated(data)
    mounts("--bind", str(data), str(ro))
    _mount("-o", "remount,bind,ro", str(ro))
    app, client = serve(ro)
    try:
        state = health(client)
        assert (state["status"], state["storage"], state["read_only"]) == ("degraded", "read_only", True)
        assert client.get("/api/documents").status_code == 200
        assert client.get(f"/api/documents/{doc_id}").get_json()["title"] == "Grant proposal"
        messages = client.get(f"/api/sessions/{session_id}").get_json()["messages"]
        assert [m["content"] for m in messages if m["role"] == "user"] == ["hello"]
        for resp in (client.post("/api/documents", json={"title": "New", "sections": []}),
                     client.patch(f"/api/documents/{doc_id}", json={"title": "Changed"}),
                     client.post(f"/api/sessions/{session_id}/messages", json={"content": "more"})):
            assert resp.status_code == 503, resp.get_json()
            assert resp.get_json()["error"]["code"] == "storage_read_only"
            assert "read-only" in resp.get_json()["error"]["message"]
        page = client.get("/").get_data(as_text=True)
        assert 'class="storage-banner"' in page and "read-only" in page
    finally:
        shutdown(app)


def test_a_folder_that_turns_read_only_while_serving_answers_503(make_app, data_dir, monkeypatch):
    """EROFS from the OS (a file system remounted read-only after an error): 503, health read_only, reads fine."""
    app = make_app()
    client = app.test_client()
    doc = make_document(client)
    session = make_session(client, doc)
    refusal = WriteRefusal(monkeypatch, data_dir, errno.EROFS)
    refusal.on = True
    resp = client.post(f"/api/sessions/{session['id']}/messages", json={"content": "hello"})
    assert resp.status_code == 503 and resp.get_json()["error"]["code"] == "storage_read_only"
    assert client.patch(f"/api/documents/{doc['id']}", json={"title": "New"}).status_code == 503
    assert client.get(f"/api/documents/{doc['id']}").get_json()["title"] == "Grant proposal"
    assert health(client)["read_only"] is True
    refusal.on = False
    assert client.patch(f"/api/documents/{doc['id']}", json={"title": "New"}).status_code == 200
    assert health(client)["storage"] == "ok"


# -- 7: the data folder deleted while the server runs ------------------------------

def test_writes_after_the_data_folder_was_deleted_fail_and_say_so(make_app, data_dir):
    """Journals still open must not take writes nobody will see again: every POST 503, health `gone`."""
    app = make_app()
    client = app.test_client()
    doc = make_document(client)
    sessions = [make_session(client, doc) for _ in range(3)]
    for session in sessions:  # journals opened and kept
        assert client.post(f"/api/sessions/{session['id']}/messages", json={"content": "kept"}).status_code == 201

    shutil.rmtree(data_dir)
    answers = [client.post(f"/api/sessions/{sessions[k % 3]['id']}/messages", json={"content": f"lost {k}"})
               for k in range(20)]
    assert [r.status_code for r in answers] == [503] * 20
    error = answers[0].get_json()["error"]
    assert error["code"] == "storage_gone" and "deleted" in error["message"]
    assert client.post("/api/documents", json={"title": "New", "sections": []}).status_code == 503
    state = health(client)
    assert (state["status"], state["storage"], state["read_only"]) == ("degraded", "gone", True)
    assert "restart" in state["storage_message"]

    for sub in ("documents", "sessions", "users", "locks", "quarantine"):
        os.makedirs(os.path.join(data_dir, sub))  # someone recreates the folders: still not ours
    # The session is not in the new folder (404), or its write is refused (503): never a 201.
    assert client.post(f"/api/sessions/{sessions[0]['id']}/messages", json={"content": "x"}).status_code in (404, 503)
    assert client.post("/api/documents", json={"title": "New", "sections": []}).status_code == 503
    assert 'class="storage-banner"' in client.get("/").get_data(as_text=True)


def test_a_folder_deleted_before_anything_is_written_shows_in_health(make_app, data_dir):
    app = make_app()
    client = app.test_client()
    assert health(client)["storage"] == "ok"
    assert services(app).search.flush(10)  # the index is built and its writer idle: nothing writes meanwhile
    shutil.rmtree(data_dir)
    assert health(client)["storage"] == "gone"
