"""HTTP API for instruction presets: list (built-in, own, shared with a document), create, change, delete."""
from __future__ import annotations

from flask import Blueprint, jsonify

from ..domain import presets as service
from .declare import ErrorOut, ResponseSpec, declare
from .schemas.presets import CreatePresetIn, ListPresetsQuery, PresetDeletedOut, PresetOut, PresetsOut, UpdatePresetIn

bp = Blueprint("presets", __name__, url_prefix="/api/presets")
TAGS = ["presets"]
NOT_YOURS = ResponseSpec("application/json", ErrorOut,
                         "No such preset of yours (another user's, a shared one and a built-in all answer 404)")
NO_DOCUMENT = ResponseSpec("application/json", ErrorOut, "No such document you can read")


@bp.get("")
@declare(query=ListPresetsQuery, responses={200: PresetsOut, 404: NO_DOCUMENT}, tags=TAGS)
def list_presets(query: ListPresetsQuery):
    """The built-in presets, yours, and with `document_id` those its owner shared with that document."""
    return jsonify({"presets": service.list_presets(query.document_id), "tools": service.chat_tools()})


@bp.post("")
@declare(body=CreatePresetIn, responses={201: PresetOut}, tags=TAGS)
def create_preset(body: CreatePresetIn):
    """Save a preset of yours; `shared_documents` must be documents you own."""
    return jsonify(service.create_preset(body.model_dump())), 201


@bp.patch("/<preset_id>")
@declare(body=UpdatePresetIn, responses={200: PresetOut, 404: NOT_YOURS}, tags=TAGS)
def update_preset(preset_id: str, body: UpdatePresetIn):
    """Change one of your presets; chats already started from it keep their settings."""
    return jsonify(service.update_preset(preset_id, body.model_dump(exclude_unset=True)))


@bp.delete("/<preset_id>")
@declare(responses={200: PresetDeletedOut, 404: NOT_YOURS}, tags=TAGS)
def delete_preset(preset_id: str):
    """Delete one of your presets; chats started from it keep their settings."""
    return jsonify({"deleted": service.delete_preset(preset_id)})
