"""A streaming reply's checkpoints: only the text added since the last one, each piece redacted on its own.

The journal gets `text` records while a reply streams; another reader of the
folder (a new app, as another process), a restart and a compaction rebuild the
partial reply from them; a secret split over several deltas never reaches the
disk, and the final reply is exactly what redacting the whole text gives.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from conftest import make_document, make_session, model_config
from fake_openai import Reply
from processes import wait_for

from vice_ai import shutdown
from vice_ai.chat import streaming
from vice_ai.domain.state import AppState
from vice_ai.housekeeping.redaction import redact, settled
from vice_ai.services import services
from vice_ai.storage.store import Store

WORDS = [f"word{i} " for i in range(60)]


@pytest.fixture(autouse=True)
def _fast_checkpoints(monkeypatch):
    monkeypatch.setattr(streaming, "CHECKPOINT_SECONDS", 0.05)


def journal_records(data_dir: str, session_id: str) -> list[dict]:
    path = Path(data_dir, "sessions", f"{session_id}.journal")
    if not path.exists():
        return []
    lines = (line.strip("\x00 \r") for line in path.read_text(encoding="utf-8").split("\n"))  # padded
    return [json.loads(line) for line in lines if line]


def folder_bytes(data_dir: str) -> bytes:
    return b"".join(p.read_bytes() for p in Path(data_dir).rglob("*") if p.is_file())


def reader(data_dir: str) -> AppState:
    """The folder as another process reads it (no start-up repair)."""
    return AppState(Store(data_dir))


def start_reply(make_app, fake_openai, reply: Reply, **config):
    app = make_app(**model_config(fake_openai, **config))
    client = app.test_client()
    session = make_session(client, make_document(client))
    fake_openai.script(reply)
    rnd = services(app).engine.send_message(session["id"], "Write a long answer")
    return app, session["id"], rnd


def test_checkpoints_are_text_records_that_another_reader_and_a_restart_rebuild(make_app, fake_openai, data_dir):
    app, sid, rnd = start_reply(make_app, fake_openai, Reply(tokens=WORDS, delay=0.02))
    try:
        wait_for(lambda: len([r for r in journal_records(data_dir, sid) if r["op"] == "text"]) >= 3, poll=0.02)
        texts = [r for r in journal_records(data_dir, sid) if r["op"] == "text"]
        # Each checkpoint holds only what was added: no record repeats the reply so far.
        assert all(r["message_id"] == texts[0]["message_id"] for r in texts)
        joined = "".join(r["text"] for r in texts)
        assert "".join(WORDS).startswith(joined) and len(texts[0]["text"]) < len(joined)
        # Another reader of the folder (as another process would) sees the partial reply.
        partial = reader(data_dir).get_chat_session(sid).get_message(texts[0]["message_id"])
        assert partial.status == "streaming" and "".join(WORDS).startswith(partial.content)
        assert partial.content.startswith(joined)
        assert rnd.finished.wait(10)
    finally:
        shutdown(app)
    final = [r for r in journal_records(data_dir, sid) if r["op"] == "message"][-1]["message"]
    assert final["status"] == "complete" and final["content"] == "".join(WORDS)
    restarted = make_app(**model_config(fake_openai)).test_client()
    messages = restarted.get(f"/api/sessions/{sid}").get_json()["messages"]
    assert messages[-1]["content"] == "".join(WORDS) and messages[-1]["status"] == "complete"


def test_a_reply_cut_off_mid_stream_is_rebuilt_from_its_checkpoints_after_compactions(
        make_app, fake_openai, data_dir):
    """A tiny compaction threshold folds the journal into snapshots mid-stream; the text records after it apply."""
    app, sid, rnd = start_reply(make_app, fake_openai, Reply(tokens=WORDS * 3, delay=0.01),
                                JOURNAL_COMPACT_BYTES=200)
    engine = services(app).engine
    state = services(app).state
    wait_for(lambda: len(state.get_chat_session(sid).messages[-1].content or "") > 300, poll=0.02)
    # What the disk says now, read by another reader (as after a crash): the reply so far, in order.
    reply = reader(data_dir).get_chat_session(sid).messages[-1]
    assert reply.role == "assistant" and len(reply.content) > 300
    assert "".join(WORDS * 3).startswith(reply.content)
    engine.stop(sid)
    assert rnd.finished.wait(10)
    shutdown(app)
    restarted = make_app(**model_config(fake_openai)).test_client()
    final = restarted.get(f"/api/sessions/{sid}").get_json()["messages"][-1]
    assert final["status"] == "stopped" and "".join(WORDS * 3).startswith(final["content"])


SECRET_KEY = "sk-proj-Ab12Cd34Ef56Gh78Ij90Kl12"
SECRET_TOKEN = "Zq9Yx8Wv7Ut6Sr5Qp4On3Ml2"
PRIVATE_BODY = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC"


@pytest.mark.parametrize("pieces", [
    ["Your key is sk-proj-Ab12Cd34", "Ef56Gh78Ij90", "Kl12 and more. "],
    ["Send Authorization: Bear", "er ", "Zq9Yx8Wv7Ut6", "Sr5Qp4On3Ml2 then go. "],
    ["Here:\n-----BEGIN PRIVATE KEY-----\n", PRIVATE_BODY[:16], PRIVATE_BODY[16:] + "\n-----END PRIV",
     "ATE KEY-----\nDone. "],
], ids=["api-key", "bearer", "private-key"])
def test_a_secret_split_over_deltas_never_reaches_the_disk(make_app, fake_openai, data_dir, pieces):
    tail = [f"after{i} " for i in range(40)]
    # A pause after each piece of the secret, longer than a checkpoint: a checkpoint may fall between any two.
    app, sid, rnd = start_reply(make_app, fake_openai, Reply(tokens=pieces + tail, delay=0.08))
    secrets = [SECRET_KEY, SECRET_TOKEN, PRIVATE_BODY]
    fragments = ["Ab12Cd34", "Ef56Gh78Ij90", "Kl12", "Zq9Yx8Wv7Ut6", "Sr5Qp4On3Ml2", PRIVATE_BODY[:16],
                 PRIVATE_BODY[16:]]
    try:
        for _ in range(30):  # look at the disk all along the reply
            on_disk = folder_bytes(data_dir)
            assert not any(f.encode() in on_disk for f in fragments), on_disk[-600:]
            time.sleep(0.1)
        assert rnd.finished.wait(10)
    finally:
        shutdown(app)
    on_disk = folder_bytes(data_dir)
    assert not any(s.encode() in on_disk for s in secrets)
    assert not any(f.encode() in on_disk for f in fragments)
    records = journal_records(data_dir, sid)
    assert any(r["op"] == "text" for r in records)
    full = "".join(pieces + tail)
    final = [r for r in records if r["op"] == "message"][-1]["message"]
    assert final["content"] == redact(full) and "[redacted:" in final["content"]


def test_pieces_cut_where_nothing_could_be_a_secret_redact_as_the_whole():
    """Every way of cutting a text into deltas: the settled pieces redacted one by one are the whole, redacted."""
    text = ("Key sk-proj-Ab12Cd34Ef56Gh78Ij90Kl12, token Bearer Zq9Yx8Wv7Ut6Sr5Qp4On3Ml2, aws AKIAABCDEFGHIJKLMNOP "
            "x_ghp_abcdefghijklmnopqrstuvwxyz0123456789 and\n-----BEGIN RSA PRIVATE KEY-----\nMIIE\n"
            "-----END RSA PRIVATE KEY-----\nthe end eyJhbGciOiJIUzI1.eyJzdWIiOiIxMjM0.SflKxwRJSMeKKF2QT4f done")
    for step in (1, 3, 7, 16):
        for offset in range(step):
            written, held = [], ""
            cuts = list(range(offset, len(text), step)) + [len(text)]
            start = 0
            for cut in cuts:
                pending = held + text[start:cut]
                start = cut
                at = settled(pending)
                written.append(redact(pending[:at]))
                held = pending[at:]
            written.append(redact(held))
            assert "".join(written) == redact(text), (step, offset)


def test_under_load_a_burst_of_tokens_goes_out_as_fewer_deltas_with_the_exact_text(
        make_app, fake_openai, monkeypatch):
    monkeypatch.setattr(streaming, "BATCH_FROM", 1)  # as if many replies were streaming
    app = make_app(**model_config(fake_openai))
    client = app.test_client()
    session = make_session(client, make_document(client))
    fake_openai.script(Reply(tokens=WORDS * 4))
    events: list[dict] = []
    rnd = services(app).engine.send_message(session["id"], "Write a long answer", handler=events.append)
    try:
        assert rnd.finished.wait(10)
    finally:
        shutdown(app)
    deltas = [e for e in events if e["type"] == "delta"]
    assert 1 <= len(deltas) < len(WORDS * 4)
    assert "".join(e["text"] for e in deltas) == "".join(WORDS * 4) == events[-1]["message"]["content"]
    assert events[-1]["type"] == "done" and events.index(deltas[-1]) < len(events) - 1
    assert [e["seq"] for e in events] == list(range(events[0]["seq"], events[-1]["seq"] + 1))
