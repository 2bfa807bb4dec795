"""The publishing thread writes an event itself while the socket's writer waits on an empty queue; whatever the
socket cannot take at once is sent by the writer before anything later, so order and text stay exact."""
from __future__ import annotations

import json
import threading
import time

from conftest import connect_ws, make_document, make_session, model_config, ws_events
from fake_openai import Reply

from vice_ai.live import connection as connection_module
from vice_ai.live.subscriber import EventQueue, Unsent


def waiting_writer(queue: EventQueue, got: list) -> threading.Thread:
    """A writer blocked in `take` (as a socket's writer between events), recording what it is handed."""

    def run() -> None:
        got.extend(queue.take(256, 1.0))

    thread = threading.Thread(target=run)
    thread.start()
    deadline = time.monotonic() + 5
    while not queue._waiting and time.monotonic() < deadline:
        time.sleep(0.001)
    assert queue._waiting
    return thread


def test_an_event_put_while_the_writer_waits_is_written_by_the_putting_thread():
    queue, written, handed = EventQueue(100), [], []
    queue.direct = lambda event: written.append((event["n"], threading.current_thread())) or b""
    writer = waiting_writer(queue, handed)
    queue.put_nowait({"type": "delta", "n": 1})
    writer.join()
    assert written == [(1, threading.current_thread())]
    assert handed == [] and queue.qsize() == 0  # the writer was never woken


def test_the_rest_of_a_frame_goes_first_and_later_events_queue_behind_it():
    queue, handed = EventQueue(100), []
    queue.direct = lambda event: b"rest of frame 1"  # the socket took only part of it
    writer = waiting_writer(queue, handed)
    queue.put_nowait({"type": "delta", "n": 1})
    writer.join()
    queue.put_nowait({"type": "delta", "n": 2})  # the writer is busy now: queued, not written
    queue.put_nowait(None)
    assert handed == [Unsent(b"rest of frame 1")] and isinstance(handed[0], Unsent)
    assert queue.take(256, 0) == [{"type": "delta", "n": 2}, None]


def test_no_direct_write_while_the_writer_is_busy_or_for_the_end():
    queue, written = EventQueue(100), []
    queue.direct = lambda event: written.append(event) or b""
    queue.put_nowait({"type": "delta", "n": 1})  # nobody waits: queued
    assert written == [] and queue.qsize() == 1
    queue.take(256, 0)
    handed: list = []
    writer = waiting_writer(queue, handed)
    queue.put_nowait(None)  # the end is always the writer's
    writer.join()
    assert written == [] and handed == [None]


def test_a_socket_that_takes_frames_in_pieces_still_gets_every_event_whole(make_app, fake_openai, start_server,
                                                                            monkeypatch):
    """Every direct write puts only part of the frame on the socket; the writer sends the rest."""
    halves: list[int] = []

    def half(sock, data):
        halves.append(len(data))
        return int(sock.send(data[:max(1, len(data) // 2)]))

    monkeypatch.setattr(connection_module.SessionConnection, "_write_now", staticmethod(half))
    app = make_app(**model_config(fake_openai))
    client = app.test_client()
    session = make_session(client, make_document(client))
    server = start_server(app)
    words = [f"w{n} " for n in range(60)]
    fake_openai.script(Reply(tokens=words, delay=0.005))
    ws = connect_ws(server, session["id"])
    try:
        ws.send(json.dumps({"type": "send", "content": "Write an answer"}))
        events = ws_events(ws, lambda e: e["type"] == "done", timeout=20)
    finally:
        ws.close()
    deltas = [e for e in events if e["type"] == "delta"]
    assert len(halves) >= len(deltas) // 2  # most deltas went through the direct (halved) write
    assert "".join(e["text"] for e in deltas) == "".join(words) == events[-1]["message"]["content"]
    seqs = [e["seq"] for e in events if "seq" in e and not e.get("local")]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
