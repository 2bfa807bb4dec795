"""HTTP API for chat sessions: start one on a section, read, configure, delete, chat (blocking), apply a reply."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, jsonify

from ..chat.render import message_view
from ..chat.rounds import Round
from ..domain import chats, deletion
from ..domain.resources import load_session
from .declare import declare
from .errors import error_response
from .schemas.resources import AppliedOut, SessionOut
from .schemas.sessions import (
    ApplyIn,
    CreateSessionIn,
    DeletedOut,
    ListSessionsQuery,
    NoBody,
    RegenerateIn,
    RoundErrorOut,
    RoundOut,
    SendMessageIn,
    SessionPageQuery,
    SessionsOut,
    StoppedOut,
    UpdateSessionIn,
)

bp = Blueprint("sessions", __name__, url_prefix="/api")
TAGS = ["sessions"]
# A round answers 201 with both messages, or (the model failed) 502/504 with both inside `error`; the same
# shape when the reply could not be saved: 507 (the disk is full), 503 (the data folder is read-only or gone).
ROUND_RESPONSES: dict[int, Any] = {201: RoundOut, 502: RoundErrorOut, 503: RoundErrorOut, 504: RoundErrorOut,
                                   507: RoundErrorOut}


@bp.post("/documents/<doc_id>/sections/<section_id>/sessions")
@declare(body=CreateSessionIn, responses={201: SessionOut}, tags=TAGS)
def create_session(doc_id: str, section_id: str, body: CreateSessionIn):
    """Start a chat on a section (edit access to the document), optionally from a preset."""
    session = chats.create_session(doc_id, section_id, body.title, body.config(), body.preset_id)
    return jsonify(chats.session_view(session.id)), 201


@bp.get("/documents/<doc_id>/sections/<section_id>/sessions")
@declare(query=ListSessionsQuery, responses={200: SessionsOut}, tags=TAGS)
def list_sessions(doc_id: str, section_id: str, query: ListSessionsQuery):
    """The section's chats, newest first; archived ones only with ?archived=1."""
    found = chats.list_sessions(doc_id, section_id, query.archived)
    return jsonify({"sessions": [s.summary() for s in found]})


@bp.get("/sessions/<session_id>")
@declare(query=SessionPageQuery, responses={200: SessionOut}, tags=TAGS)
def get_session(session_id: str, query: SessionPageQuery):
    """A chat with a page of its messages, the section's current version and whether it is generating.

    The page is the newest `limit` messages (default 50) of the active branch, or of the branch through
    `leaf`, or before `before`, oldest first; `has_more` says whether older ones remain.
    """
    load_session(session_id)
    return jsonify(chats.session_view(session_id, query.limit, query.before, query.leaf))


@bp.patch("/sessions/<session_id>")
@declare(body=UpdateSessionIn, responses={200: SessionOut}, tags=TAGS)
def update_session(session_id: str, body: UpdateSessionIn):
    """Rename, configure (merged into the current settings), set variables or context documents, (un)archive."""
    changes = body.model_dump(include={"title", "variables", "context_documents", "archived"}, exclude_none=True)
    config = body.config.model_dump(exclude_unset=True) if body.config is not None else None
    chats.update_session(session_id, changes, config, body.active_leaf)
    return jsonify(chats.session_view(session_id))


@bp.delete("/sessions/<session_id>")
@declare(responses={200: DeletedOut}, tags=TAGS)
def delete_session(session_id: str):
    """Delete a chat (its generation and notification streams stop first)."""
    return jsonify({"deleted": deletion.delete_session(session_id)})


def _round_response(round_: Round):
    """Wait for a round and answer with both messages (an error keeps the user message too)."""
    round_.wait(current_app.config["REQUEST_TIMEOUT"] * 2 + 30)
    body = {
        "user_message": message_view(round_.user_message),
        "assistant_message": (message_view(round_.assistant_message, (round_.document_id, round_.session_id))
                              if round_.assistant_message else None),
    }
    if round_.error is not None:
        return error_response(round_.error, extra=body)
    return jsonify(body), 201


@bp.post("/sessions/<session_id>/messages")
@declare(body=SendMessageIn, responses=ROUND_RESPONSES, tags=TAGS)
def send_message(session_id: str, body: SendMessageIn):
    """Send a message and wait for the complete reply; 409 `busy` if a reply is already running.

    With `parent_id` the message follows that reply instead of the end of the active branch (edit and resend).
    With a selection in `references` (400 when it is not the text of that version, 409 for a version the section
    never had) the model works on that passage, and the reply can replace only it (`apply` mode `passage`).
    """
    return _round_response(chats.send_message(session_id, body.content, body.parent(), body.reference_dicts()))


@bp.post("/sessions/<session_id>/regenerate")
@declare(body=RegenerateIn, responses=ROUND_RESPONSES, tags=TAGS)
def regenerate(session_id: str, body: RegenerateIn):
    """A new reply to the question of `message_id` (default: the active branch's last reply), beside it."""
    return _round_response(chats.regenerate(session_id, body.message_id))


@bp.post("/sessions/<session_id>/continue")
@declare(body=NoBody, responses=ROUND_RESPONSES, tags=TAGS)
def continue_reply(session_id: str, body: NoBody):
    """Ask the model to go on from the chat's interrupted last reply; the rest is appended to it, like `messages`."""
    return _round_response(chats.continue_reply(session_id))


@bp.post("/sessions/<session_id>/stop")
@declare(body=NoBody, responses={200: StoppedOut}, tags=TAGS)
def stop(session_id: str, body: NoBody):
    """Stop the reply being written; `stopped` says whether one was running."""
    return jsonify({"stopped": chats.stop_generation(session_id)})


@bp.post("/sessions/<session_id>/apply")
@declare(body=ApplyIn, responses={200: AppliedOut}, tags=TAGS)
def apply_reply(session_id: str, body: ApplyIn):
    """Write an assistant reply into the section as a new version that remembers the message.

    With `content` and `version`: the text a review made of it, saved as it is (409 if the section moved on).
    """
    return jsonify(chats.apply_reply(session_id, body.message_id, body.mode, body.content, body.version))
