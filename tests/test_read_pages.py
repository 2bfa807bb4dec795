"""Reads that cost what they show: a chat's pages along its branch, the document list's cursor, replies rendered once."""
from __future__ import annotations

import pytest
from auth_helpers import password_app, signin, signup
from conftest import make_document, make_session

from vice_ai.accounts.users import Accounts
from vice_ai.chat import render
from vice_ai.domain.models import Message
from vice_ai.services import services


def _chat(app, client, count: int) -> tuple[str, list[Message]]:
    """A chat of `count` messages in one line (questions and replies in turn), written straight to the state."""
    session = make_session(client, make_document(client))
    state = services(app).state
    messages: list[Message] = []
    parent = None
    for i in range(count):
        role = "user" if i % 2 == 0 else "assistant"
        message = Message(role=role, content=f"{role} {i} **bold**", parent_id=parent)
        state.append_message(session["id"], message)
        messages.append(message)
        parent = message.id
    return session["id"], messages


def _get(client, session_id: str, query: str = "", status: int = 200) -> dict:
    resp = client.get(f"/api/sessions/{session_id}{query}")
    assert resp.status_code == status, resp.get_json()
    return resp.get_json()


def _ids(view: dict) -> list[str]:
    return [m["id"] for m in view["messages"]]


# -- a chat, page by page ----------------------------------------------------------------------------

def test_the_default_page_is_the_newest_fifty_and_before_walks_back_to_the_start(app, client):
    session_id, messages = _chat(app, client, 120)
    ids = [m.id for m in messages]
    first = _get(client, session_id)
    assert _ids(first) == ids[-50:] and first["has_more"] is True
    assert first["message_count"] == 120 and first["active_leaf"] == first["shown_leaf"] == ids[-1]
    assert first["active_path"] == ids[-50:]
    second = _get(client, session_id, f"?before={ids[-50]}")
    assert _ids(second) == ids[20:70] and second["has_more"] is True
    third = _get(client, session_id, f"?before={ids[20]}&limit=200")
    assert _ids(third) == ids[:20] and third["has_more"] is False
    exact = _get(client, session_id, f"?before={ids[20]}&limit=20")
    assert _ids(exact) == ids[:20] and exact["has_more"] is False
    short = _get(client, session_id, f"?before={ids[20]}&limit=19")
    assert _ids(short) == ids[1:20] and short["has_more"] is True
    empty = _get(client, session_id, f"?before={ids[0]}")
    assert empty["messages"] == [] and empty["has_more"] is False
    # Replies carry their HTML; every message its siblings (none here).
    assert first["messages"][-1]["html"] == "<p>assistant 119 <strong>bold</strong></p>\n"
    assert all(m["sibling_ids"] == [m["id"]] and m["sibling_index"] == 0 for m in first["messages"])


@pytest.mark.parametrize("query, field", [
    ("?limit=0", "limit"), ("?limit=201", "limit"), ("?limit=ten", "limit"), ("?limit=-1", "limit"),
    ("?limit=1&limit=2", "limit"), ("?page=2", "page"), ("?before=", "before"),
])
def test_bad_page_queries_are_400(app, client, query, field):
    session_id, _ = _chat(app, client, 3)
    body = _get(client, session_id, query, 400)
    assert body["error"]["code"] == "bad_request" and body["error"]["field"] == field


def test_limit_bounds_and_unknown_ids(app, client):
    session_id, messages = _chat(app, client, 5)
    assert len(_get(client, session_id, "?limit=1")["messages"]) == 1
    assert len(_get(client, session_id, "?limit=200")["messages"]) == 5
    for name in ("before", "leaf"):
        body = _get(client, session_id, f"?{name}=no-such-message", 404)
        assert body["error"]["code"] == "not_found" and body["error"]["field"] == name
    # A message of another chat is not one of this chat's.
    other_id, other = _chat(app, client, 2)
    assert _get(client, session_id, f"?before={other[1].id}", 404)["error"]["field"] == "before"
    assert _get(client, other_id, f"?before={messages[1].id}", 404)["error"]["field"] == "before"


def test_pages_follow_a_branch_with_the_siblings_of_each_message(app, client):
    session_id, messages = _chat(app, client, 6)
    state = services(app).state
    # Ask the second question again (a sibling of message 2), and answer it: the active branch moves there.
    edited = Message(role="user", content="edited", parent_id=messages[1].id)
    reply = Message(role="assistant", content="new reply", parent_id=edited.id)
    state.append_message(session_id, edited, {"active_leaf": edited.id})
    state.append_message(session_id, reply)
    view = _get(client, session_id)
    assert _ids(view) == [messages[0].id, messages[1].id, edited.id, reply.id]
    assert view["active_leaf"] == reply.id and view["message_count"] == 8
    by_id = {m["id"]: m for m in view["messages"]}
    assert by_id[edited.id]["sibling_ids"] == [messages[2].id, edited.id] and by_id[edited.id]["sibling_index"] == 1
    # Paging back from the new branch's reply: its own ancestors, never the other branch's messages.
    assert _ids(_get(client, session_id, f"?before={reply.id}&limit=2")) == [messages[1].id, edited.id]
    # The other branch, shown without changing the chat (a reader's ‹ 1 / 2 ›), and paged back from its end.
    old = _get(client, session_id, f"?leaf={messages[2].id}&limit=3")
    assert _ids(old) == [m.id for m in messages[3:]] and old["has_more"] is True
    assert old["shown_leaf"] == messages[5].id and old["active_leaf"] == reply.id
    assert _ids(_get(client, session_id, f"?before={messages[3].id}")) == [m.id for m in messages[:3]]
    assert _get(client, session_id)["active_leaf"] == reply.id  # nothing was stored


def test_old_clients_without_parameters_get_the_whole_short_chat(app, client):
    session_id, messages = _chat(app, client, 4)
    view = _get(client, session_id)
    assert _ids(view) == [m.id for m in messages] and view["has_more"] is False


# -- replies rendered once ----------------------------------------------------------------------------

def test_a_final_reply_is_rendered_once_and_a_changed_one_anew(app, client):
    session_id, messages = _chat(app, client, 2)
    reply = messages[1]
    _get(client, session_id)
    renders = render.replies.renders
    for _ in range(3):
        assert _get(client, session_id)["messages"][1]["html"] == "<p>assistant 1 <strong>bold</strong></p>\n"
    assert render.replies.renders == renders  # read three times, rendered no more
    # A reply whose text changed (continued, say) shows its new HTML.
    services(app).state.append_message(session_id, Message(**{**reply.to_dict(), "content": "now *longer*"}))
    assert _get(client, session_id)["messages"][1]["html"] == "<p>now <em>longer</em></p>\n"
    # A streaming reply is rendered as it is now, and not remembered.
    services(app).state.append_message(session_id, Message(**{**reply.to_dict(), "content": "part", "status":
                                                                "streaming"}))
    assert _get(client, session_id)["messages"][1]["html"] == "<p>part</p>\n"


def test_cached_html_is_sanitized_as_before(app, client):
    session_id, messages = _chat(app, client, 1)
    evil = Message(role="assistant", parent_id=messages[0].id,
                   content='<script>alert(1)</script> [x](javascript:alert(1)) <img src=x onerror=alert(1)>')
    services(app).state.append_message(session_id, evil)
    for _ in range(2):  # rendered, then from the cache
        html = _get(client, session_id)["messages"][-1]["html"]
        assert html == render.render_markdown(evil.content)
        assert "<script" not in html and "href=\"javascript" not in html and "<img" not in html


def test_the_reply_cache_is_bounded():
    cache = render.ReplyCache(render.render_markdown, max_bytes=3000)
    for i in range(100):
        cache.html(f"m{i}", "word " * 20, ("doc", "chat"))
    assert cache.size <= 3000 and len(cache._items) < 100
    assert cache.html("m99", "word " * 20) == render.render_markdown("word " * 20)


# -- the document list, page by page -------------------------------------------------------------------

def _docs(client, query: str = "") -> dict:
    resp = client.get(f"/api/documents{query}")
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


def test_document_pages_with_a_cursor_over_created_and_deleted_documents(client):
    made = [make_document(client, title=f"Doc {i}", sections=[]) for i in range(7)]
    everything = [d["id"] for d in _docs(client)["documents"]]
    assert sorted(everything) == sorted(d["id"] for d in made)
    first = _docs(client, "?limit=3")
    assert [d["id"] for d in first["documents"]] == everything[:3] and first["has_more"] is True
    # Meanwhile one document of the next page is deleted and a new one is created.
    gone = everything[4]
    assert client.delete(f"/api/documents/{gone}").status_code == 200
    new = make_document(client, title="Newer", sections=[])
    seen = [d["id"] for d in first["documents"]]
    cursor = first["next_cursor"]
    while cursor:
        page = _docs(client, f"?limit=3&cursor={cursor}")
        seen += [d["id"] for d in page["documents"]]
        cursor = page["next_cursor"]
        assert (cursor is not None) == page["has_more"]
    assert seen == [i for i in everything if i != gone]  # nothing twice, nothing that stayed put skipped
    assert new["id"] not in seen and _docs(client)["documents"][0]["id"] == new["id"]  # a reload shows it
    last = _docs(client, "?limit=7")
    assert last["has_more"] is False and last["next_cursor"] is None


@pytest.mark.parametrize("query, field", [
    ("?limit=0", "limit"), ("?limit=201", "limit"), ("?cursor=not-a-cursor", "cursor"), ("?cursor=WzFd", "cursor"),
    ("?sort=title", "sort"),
])
def test_bad_document_list_queries_are_400(client, query, field):
    make_document(client)
    resp = client.get(f"/api/documents{query}")
    assert resp.status_code == 400 and resp.get_json()["error"]["field"] == field


def test_listing_documents_looks_up_the_heir_of_local_files_once(make_app, monkeypatch):
    local = make_app(AUTH="local").test_client()
    for i in range(5):
        make_document(local, title=f"Local {i}", sections=[])
    app = password_app(make_app)
    alice = app.test_client()
    assert signup(alice, "alice").status_code == 201
    calls = []
    original = Accounts.first_admin
    monkeypatch.setattr(Accounts, "first_admin", lambda self: calls.append(1) or original(self))
    docs = _docs(alice)["documents"]
    assert len(docs) == 5 and {d["access"] for d in docs} == {"owner"}
    assert len(calls) == 1
    bob = app.test_client()
    alice.post("/api/users", json={"username": "bob", "password": "correct horse battery staple"})
    assert signin(bob, "bob").status_code == 200
    assert _docs(bob)["documents"] == []  # the access rules still hold
