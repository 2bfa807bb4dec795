"""The reply HTML cache: bounded in bytes of what it holds, and a chat's entries go with the chat."""
from __future__ import annotations

import sys

from conftest import make_document, make_session

from vice_ai.chat import render
from vice_ai.chat.reply_cache import ENTRY_OVERHEAD, ReplyCache
from vice_ai.config import from_environment
from vice_ai.domain.models import Message
from vice_ai.housekeeping import allocator
from vice_ai.services import services


def _entry_bytes(markdown: str) -> int:
    return sys.getsizeof(markdown) + sys.getsizeof(render.render_markdown(markdown)) + ENTRY_OVERHEAD


def test_the_bound_counts_bytes_not_characters():
    ascii_text, wide_text = "word " * 200, "w\U0001f600rd " * 200  # the same length; 4 bytes a character
    assert len(ascii_text) == len(wide_text)
    bound = 20 * _entry_bytes(ascii_text)
    cache = ReplyCache(render.render_markdown, max_bytes=bound)
    for i in range(100):
        cache.html(f"a{i}", ascii_text, ("doc", "chat"))
    ascii_kept = len(cache)
    assert cache.size <= bound and ascii_kept == 20
    assert cache.size == ascii_kept * _entry_bytes(ascii_text)
    for i in range(100):
        cache.html(f"w{i}", wide_text, ("doc", "chat"))
    assert cache.size <= bound and 0 < len(cache) < ascii_kept / 2  # wider strings: fewer fit in the same bytes
    # What is served is what a render gives, from the cache or not.
    assert cache.html("w99", wide_text, ("doc", "chat")) == render.render_markdown(wide_text)
    cache.resize(_entry_bytes(wide_text))
    assert len(cache) == 1 and cache.html("w99", wide_text) == render.render_markdown(wide_text)
    # A reply larger than the whole bound is served, not kept (nor does it empty the cache).
    cache.html("huge", "x" * 100_000, ("doc", "chat"))
    assert "huge" not in cache._items and len(cache) == 1


def test_without_a_chat_a_reply_is_looked_up_but_not_kept():
    cache = ReplyCache(render.render_markdown, max_bytes=1_000_000)
    assert cache.html("m1", "*hi*") == "<p><em>hi</em></p>\n" and len(cache) == 0
    cache.html("m1", "*hi*", ("d", "s"))
    renders = cache.renders
    assert cache.html("m1", "*hi*") == "<p><em>hi</em></p>\n" and cache.renders == renders


def test_forget_a_chat_or_a_document():
    cache = ReplyCache(render.render_markdown, max_bytes=1_000_000)
    for doc in ("d1", "d2"):
        for chat in ("s1", "s2"):
            for k in range(3):
                cache.html(f"{doc}{chat}m{k}", f"reply {k}", (doc, f"{doc}{chat}"))
    assert len(cache) == 12
    assert cache.forget(session_id="d1s1") == 3 and len(cache) == 9
    assert cache.forget(document_id="d2") == 6 and len(cache) == 3
    assert set(cache._items) == {"d1s2m0", "d1s2m1", "d1s2m2"}
    assert cache.size == sum(entry[3] for entry in cache._items.values())
    assert cache.forget(document_id="d1") == 3 and cache.size == 0
    assert not cache._by_session and not cache._by_document  # nothing kept per id once empty


def _chat_with_replies(app, client, doc: dict | None = None) -> tuple[dict, str, list[str]]:
    """A chat with two replies written to the state, then read once through the API (which renders them)."""
    doc = doc or make_document(client)
    session_id = make_session(client, doc)["id"]
    state, parent, replies = services(app).state, None, []
    for i in range(4):
        message = Message(role="user" if i % 2 == 0 else "assistant", content=f"message {i} *{session_id}*",
                          parent_id=parent)
        state.append_message(session_id, message)
        parent = message.id
        if message.role == "assistant":
            replies.append(message.id)
    assert client.get(f"/api/sessions/{session_id}").status_code == 200
    return doc, session_id, replies


def _cached(ids: list[str]) -> list[str]:
    return [i for i in ids if i in render.replies._items]


def test_a_deleted_chat_s_replies_leave_the_cache(app, client):
    _, gone, gone_replies = _chat_with_replies(app, client)
    _, kept, kept_replies = _chat_with_replies(app, client)
    assert _cached(gone_replies) == gone_replies and _cached(kept_replies) == kept_replies
    assert client.delete(f"/api/sessions/{gone}").status_code == 200
    assert _cached(gone_replies) == [] and _cached(kept_replies) == kept_replies


def test_a_deleted_document_s_replies_leave_the_cache(app, client):
    doc, _, first = _chat_with_replies(app, client)
    _, _, second = _chat_with_replies(app, client, doc)
    _, _, other = _chat_with_replies(app, client)
    assert _cached(first + second + other) == first + second + other
    assert client.delete(f"/api/documents/{doc['id']}").status_code == 200
    assert _cached(first + second) == [] and _cached(other) == other


def test_a_sent_reply_is_kept_under_its_chat_and_goes_with_it(app, client):
    doc = make_document(client)
    session_id = make_session(client, doc)["id"]
    resp = client.post(f"/api/sessions/{session_id}/messages", json={"content": "Hello"})
    assert resp.status_code == 201, resp.get_json()
    reply = resp.get_json()["assistant_message"]
    assert reply["html"] and _cached([reply["id"]]) == [reply["id"]]
    assert client.delete(f"/api/documents/{doc['id']}").status_code == 200
    assert _cached([reply["id"]]) == []


def test_an_unloaded_chat_s_replies_leave_the_cache(make_app):
    app = make_app(CACHE_SESSIONS=1)
    client = app.test_client()
    _, first_chat, first = _chat_with_replies(app, client)
    assert _cached(first) == first
    _, _, second = _chat_with_replies(app, client)  # loading it unloads the first chat
    assert _cached(first) == [] and _cached(second) == second
    assert client.get(f"/api/sessions/{first_chat}").status_code == 200
    assert _cached(first) == first  # read again: rendered and kept again


def test_the_bound_comes_from_the_configuration(make_app, monkeypatch):
    monkeypatch.setenv("VICE_AI_REPLY_CACHE_BYTES", "12345")
    assert from_environment()["REPLY_CACHE_BYTES"] == 12345
    make_app(REPLY_CACHE_BYTES=54321)
    assert render.replies.max_bytes == 54321
    make_app()
    assert render.replies.max_bytes == 12345  # the environment's, when the mapping says nothing


def test_fewer_malloc_arenas_only_on_glibc(monkeypatch, make_app):
    assert from_environment({"VICE_AI_MALLOC_ARENAS": "3"})["MALLOC_ARENAS"] == 3
    assert allocator.limit_arenas(0) is False  # 0: glibc's default, nothing set
    assert allocator.limit_arenas(2) is allocator.available()  # set where the C library is glibc
    with monkeypatch.context() as patch:
        patch.setattr(allocator, "_libc", None)  # elsewhere: a no-op
        assert allocator.limit_arenas(2) is False
    calls: list[int] = []
    monkeypatch.setattr(allocator, "limit_arenas", calls.append)
    make_app(MALLOC_ARENAS=4)
    assert calls == [4]  # the app factory sets it at start-up, before the server's threads
