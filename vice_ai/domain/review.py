"""Reviewing a change before it is saved: what a reply, a proposed edit or a revert would make of a section.

Nothing here writes. A review answers the section's current text, the text the
change proposes and the word diff between them, with the section's version: the
page lets the user accept or reject each change and edit the result, then saves
it through the change's own route (`apply`, `accept`, `revert`) with that text
and that version, so the saved version keeps its source (the message, the
suggestion, the old version) and a section that moved on meanwhile is a 409.
"""
from __future__ import annotations

from typing import Any

from ..errors import BadRequest, NotFound
from .chats import REPLY_SUMMARIES, applicable_reply, reply_passage, suggestion_of
from .diffing import change_count, word_diff
from .documents import appended
from .models import Section
from .passages import replace_passage
from .resources import EDIT, load_document, load_section, load_session


def diff_view(old: str, new: str) -> dict[str, Any]:
    ops = word_diff(old, new)
    return {"old": old, "new": new, "ops": ops, "changes": change_count(ops)}


def _review(section: Section, new: str, summary: str, source: dict[str, Any]) -> dict[str, Any]:
    return {"section_id": section.id, "version": section.version, "summary": summary, "source": source,
            **diff_view(section.content, new)}


def review_reply(session_id: str, message_id: str | None, mode: str, suggestion_id: str | None) -> dict[str, Any]:
    """What applying a reply (`message_id`, `mode`) or accepting a proposed edit (`suggestion_id`) would change.

    The same access as the change itself (edit the chat and the section), so a review is never offered in vain.
    """
    session = load_session(session_id, EDIT)
    section = load_section(load_document(session.document_id, EDIT), session.section_id)
    if (message_id is None) == (suggestion_id is None):
        raise BadRequest("Give either 'message_id' (a reply) or 'suggestion_id' (a proposed edit).",
                         field="message_id")
    if suggestion_id is not None:
        pending = suggestion_of(session, suggestion_id)
        source = {"kind": "chat", "message_id": pending["message_id"], "session_id": session.id,
                  "suggestion_id": suggestion_id, "mode": "replace"}
        return _review(section, pending["new_content"], pending["summary"] or "Accepted a proposed edit", source)
    assert message_id is not None
    message = applicable_reply(session, message_id)
    passage = reply_passage(message, mode)
    if passage is not None:
        text = replace_passage(section, passage, message.content)  # 409 passage_moved when it is gone
    else:
        text = appended(section.content, message.content) if mode == "append" else message.content
    summary = REPLY_SUMMARIES[mode]
    return _review(section, text, summary,
                   {"kind": "chat", "message_id": message.id, "session_id": session.id, "mode": mode})


def version_diff(doc_id: str, section_id: str, version: int, against: int | None) -> dict[str, Any]:
    """The words that changed from version `against` (default: the one before) to `version`."""
    section = load_section(load_document(doc_id), section_id)
    by_number = {v["version"]: v for v in section.history}
    if version not in by_number:
        raise NotFound(f"Section has no version {version}.")
    if against is None:  # the version before it in the history; none before the first (its text is all new)
        base = max((n for n in by_number if n < version), default=0)
    elif against not in by_number:
        raise NotFound(f"Section has no version {against}.")
    else:
        base = against
    old = by_number[base]["content"] if base in by_number else ""
    current = by_number[version]
    return {"version": version, "against": base, "summary": current["summary"], "source": current["source"],
            **diff_view(old, current["content"])}
