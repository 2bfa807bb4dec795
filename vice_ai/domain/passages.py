"""A passage of a section that a chat message is about: checking the reference, finding it again, replacing it.

A user message may carry one *selection reference*
`{"kind": "selection", "section_id", "section_version", "start", "end", "text"}`:
`text` is exactly `content[start:end]` of that version of the section (offsets
count Unicode code points, as Python slices and the browser's textarea do for
text without astral characters; see `check_selection`). Its replies carry the
same reference, so applying one can replace only that passage.

When the section has moved on since, the passage is located again in the
current text: at the same offsets if everything before it is unchanged, else
as the one exact occurrence of its text. No occurrence, or more than one, is a
`PassageMoved` conflict: the page asks the user what to do.
"""
from __future__ import annotations

from typing import Any

from ..errors import BadRequest, Conflict
from .models import Section

KIND = "selection"
# Most selection references one message carries.
MAX_REFERENCES = 1


class PassageMoved(Conflict):
    """The passage a reply is about cannot be found (`reason`: "missing" or "ambiguous") in the current section."""

    code = "passage_moved"


def version_text(section: Section, version: int) -> str | None:
    """The section's text at `version` (None: no such version in its history)."""
    if version == section.version:
        return section.content
    found = next((v for v in section.history if v.get("version") == version), None)
    return None if found is None else str(found.get("content", ""))


def check_selection(section: Section, ref: dict[str, Any]) -> dict[str, Any]:
    """A selection reference checked against its section, as it is stored.

    The chat's own section only (400), a version the section has had (409 when it
    has no such version), offsets inside that version's text and `text` equal to
    the slice (400, naming the field).
    """
    where = "references[0]"
    if ref.get("section_id") != section.id:
        raise BadRequest("The selection must be in the chat's own section.", field=f"{where}.section_id")
    version, start, end, text = ref["section_version"], ref["start"], ref["end"], ref["text"]
    content = version_text(section, version)
    if content is None:
        raise Conflict(f"The section has no version {version} (it is at version {section.version}); "
                       "select the text again.", field=f"{where}.section_version", current_version=section.version)
    if not 0 <= start < end <= len(content):
        raise BadRequest(f"The selection must be a non-empty range inside the {len(content)} characters of "
                         f"version {version} (0 <= start < end <= {len(content)}).", field=f"{where}.end")
    if content[start:end] != text:
        raise BadRequest(f"'text' is not the text between start and end of version {version}.",
                         field=f"{where}.text")
    return {"kind": KIND, "section_id": section.id, "section_version": version, "start": start, "end": end,
            "text": text}


def check_references(section: Section, references: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A message's references as stored: at most `MAX_REFERENCES` selections, each checked."""
    if len(references) > MAX_REFERENCES:
        raise BadRequest(f"A message carries at most {MAX_REFERENCES} selection.", field="references")
    return [check_selection(section, ref) for ref in references]


def selection_of(references: list[Any]) -> dict[str, Any] | None:
    """The selection reference among a message's references, if it has one."""
    return next((r for r in references if isinstance(r, dict) and r.get("kind") == KIND), None)


def locate(content: str, old_content: str | None, ref: dict[str, Any]) -> tuple[int, int]:
    """Where the passage of `ref` is in `content` (the section now); `old_content` is its referenced version.

    Same offsets when the text before the passage and the passage itself are
    unchanged; otherwise the only exact occurrence of the passage; else PassageMoved.
    """
    start, end, text = ref["start"], ref["end"], ref["text"]
    if content[start:end] == text and old_content is not None and content[:start] == old_content[:start]:
        return start, end
    first = content.find(text)
    if first < 0:
        raise PassageMoved("The passage this reply is about is no longer in the section.", reason="missing",
                           occurrences=0, passage=text)
    if content.find(text, first + 1) >= 0:
        count = content.count(text)  # non-overlapping; enough to say "more than one"
        raise PassageMoved(f"The passage this reply is about now appears {max(count, 2)} times in the section; "
                           "it is not clear which one to replace.", reason="ambiguous",
                           occurrences=max(count, 2), passage=text)
    return first, first + len(text)


def replace_passage(section: Section, ref: dict[str, Any], replacement: str) -> str:
    """The section's text with the passage of `ref` (located again if the section changed) replaced."""
    if section.version == ref["section_version"] and section.content[ref["start"]:ref["end"]] == ref["text"]:
        start, end = ref["start"], ref["end"]
    else:
        start, end = locate(section.content, version_text(section, ref["section_version"]), ref)
    return section.content[:start] + fitted(ref["text"], replacement) + section.content[end:]


def fitted(passage: str, replacement: str) -> str:
    """The replacement with the passage's own leading and trailing whitespace (a reply's is not part of it)."""
    core = passage.strip()
    if not core:
        return replacement
    lead = passage[:passage.index(core)]
    return lead + replacement.strip() + passage[len(lead) + len(core):]
