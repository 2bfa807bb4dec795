"""Instruction presets: the built-in ones, a user's own, and those a document's owner shares with its readers.

A user sees the built-in presets and their own; on a document they also see
the presets its owner shared with that document. Only the owner of a preset
changes or deletes it; anything else (another user's preset, one shared with
a document the caller cannot read, a built-in) answers 404. Starting a chat
from a preset copies its settings into the chat's config, with `preset_id` and
`preset_name`: later edits of the preset (or its deletion) leave the chat alone.
"""
from __future__ import annotations

from typing import Any

from ..accounts.identity import current_user
from ..errors import BadRequest, NotFound
from ..housekeeping.redaction import redact
from ..services import services
from .builtin_presets import BUILTIN_PREFIX, BUILTIN_PRESETS, builtin_preset
from .models import Document, new_id
from .preset_store import Preset
from .resources import OWNER, load_document

MAX_PRESETS_PER_USER = 200
# The settings a preset carries into a chat's config.
SETTINGS = ("system_prompt", "model", "temperature", "tools")
NOT_FOUND = "Preset not found."


def _user_id() -> str:
    user = current_user()
    return user.id if user is not None else "local"


def _owner(preset: Preset) -> str | None:
    """The account a preset belongs to (a local-mode preset belongs to the first admin under accounts)."""
    return services().access.owner_id(preset.owner)


def _is_mine(preset: Preset) -> bool:
    return _owner(preset) == _user_id()


def _username(user_id: str | None) -> str | None:
    user = services().accounts.get(user_id) if user_id else None
    return user.username if user is not None else None


def _view(preset: Preset | dict[str, Any], kind: str) -> dict[str, Any]:
    """A preset as the API shows it; only its owner sees which documents it is shared with."""
    if isinstance(preset, dict):  # a built-in
        return {**preset, "kind": kind, "editable": False, "shared_documents": [], "shared_by": None,
                "created_at": None, "updated_at": None}
    data = preset.to_dict()
    data.pop("owner")
    data.pop("format_version")
    return {**data, "kind": kind, "editable": kind == "own",
            "shared_documents": data["shared_documents"] if kind == "own" else [],
            "shared_by": _username(_owner(preset)) if kind == "shared" else None}


def _is_shared_with(preset: Preset, doc: Document) -> bool:
    """Whether the document's owner shared this preset with it (the preset is theirs and names the document)."""
    return doc.id in preset.shared_documents and _owner(preset) == services().access.owner_id(doc.owner)


def _shared_with(doc: Document) -> list[Preset]:
    """The presets the document's owner shared with it."""
    return sorted((p for p in services().presets.all() if _is_shared_with(p, doc)), key=lambda p: p.name.casefold())


def list_presets(document_id: str | None = None) -> list[dict[str, Any]]:
    """The built-in presets, the caller's own, and (given a document they can read) those shared with it."""
    own = sorted((p for p in services().presets.all() if _is_mine(p)), key=lambda p: p.name.casefold())
    found = [_view(p, "builtin") for p in BUILTIN_PRESETS] + [_view(p, "own") for p in own]
    if document_id is not None:
        doc = load_document(document_id)
        found += [_view(p, "shared") for p in _shared_with(doc) if not _is_mine(p)]
    return found


def chat_tools() -> list[dict[str, str]]:
    """The built-in tools a chat may be given, by name and description (send_notification is for streams only)."""
    return [{"name": t.name, "description": t.description} for t in services().tools.tools.values()
            if t.name != "send_notification"]


def settings_for_chat(doc: Document, preset_id: str) -> dict[str, Any]:
    """What a chat started on `doc` from a preset the caller may use gets in its config (404 for any other)."""
    builtin = builtin_preset(preset_id)
    if builtin is not None:
        source: dict[str, Any] = builtin
    else:
        preset = services().presets.get(preset_id)
        if preset is None or not (_is_mine(preset) or _is_shared_with(preset, doc)):
            raise NotFound(NOT_FOUND, field="preset_id")
        source = preset.to_dict()
    config = {key: source[key] for key in SETTINGS if source.get(key) is not None}
    return {**config, "preset_id": source["id"], "preset_name": source["name"]}


def _check_tools(names: list[str]) -> list[str]:
    unknown = sorted(set(names) - set(services().tools.tools))
    if unknown:
        raise BadRequest(f"Unknown tool(s): {', '.join(unknown)}.", field="tools")
    return list(dict.fromkeys(names))


def _check_documents(doc_ids: list[str]) -> list[str]:
    """The documents a preset may be shared with: only ones the caller owns (else 404 naming the field)."""
    for doc_id in dict.fromkeys(doc_ids):
        try:
            load_document(doc_id, OWNER)
        except NotFound:
            raise NotFound("Document not found: a preset is shared only with documents you own.",
                           field="shared_documents") from None
    return list(dict.fromkeys(doc_ids))


def _clean(fields: dict[str, Any]) -> dict[str, Any]:
    """Checked and fit to store: known tools, owned documents, no secrets in the prompt, a trimmed name."""
    out = dict(fields)
    if out.get("name") is not None:
        out["name"] = out["name"].strip()
    if out.get("system_prompt") is not None:
        out["system_prompt"] = redact(out["system_prompt"])
    if out.get("tools") is not None:
        out["tools"] = _check_tools(out["tools"])
    if out.get("shared_documents") is not None:
        out["shared_documents"] = _check_documents(out["shared_documents"])
    return out


def create_preset(fields: dict[str, Any]) -> dict[str, Any]:
    """A new preset of the caller's."""
    fields = _clean(fields)
    mine = sum(1 for p in services().presets.all() if _is_mine(p))
    if mine >= MAX_PRESETS_PER_USER:
        raise BadRequest(f"You have {MAX_PRESETS_PER_USER} presets already: delete one first.")
    preset = Preset(id=new_id(), owner=_user_id(), **{k: v for k, v in fields.items() if v is not None})
    return _view(services().presets.create(preset), "own")


def _own(preset: Preset) -> None:
    if not _is_mine(preset):
        raise NotFound(NOT_FOUND)


def _not_builtin(preset_id: str) -> None:
    if preset_id.startswith(BUILTIN_PREFIX) and builtin_preset(preset_id) is not None:
        raise NotFound("Built-in presets cannot be changed: create your own preset instead.")


def update_preset(preset_id: str, fields: dict[str, Any]) -> dict[str, Any]:
    """Change the caller's preset: a null `model`, `temperature` or `tools` clears it; other nulls keep."""
    _not_builtin(preset_id)
    fields = _clean(fields)
    clearable = {"model", "temperature", "tools"}

    def change(preset: Preset) -> None:
        _own(preset)
        for key, value in fields.items():
            if value is not None or key in clearable:
                setattr(preset, key, value)

    updated = services().presets.update(preset_id, change)
    if updated is None:
        raise NotFound(NOT_FOUND)
    return _view(updated, "own")


def delete_preset(preset_id: str) -> str:
    """Delete the caller's preset; chats started from it keep their settings."""
    _not_builtin(preset_id)
    if not services().presets.delete(preset_id, check=_own):
        raise NotFound(NOT_FOUND)
    return preset_id
