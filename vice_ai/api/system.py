"""HTTP API about the server itself: health and the models users may pick."""
from __future__ import annotations

from flask import Blueprint, jsonify

from ..accounts.identity import current_user
from ..services import services
from .declare import declare
from .schemas.documents import HealthOut, ModelsOut

bp = Blueprint("system", __name__, url_prefix="/api")


@bp.get("/health")
@declare(responses={200: HealthOut})
def health():
    """Whether the server is up, and its default model (needs no account)."""
    llm = services().llm
    return jsonify({"status": "ok", "offline": llm.offline, "default_model": llm.default_model})


@bp.get("/models")
@declare(responses={200: ModelsOut})
def models():
    """The models to pick from; `default` is the user's own choice when it is available."""
    llm = services().llm
    user = current_user()
    preferred, _ = llm.resolve(user.model if user is not None else None)
    return jsonify({**llm.describe(), "default": preferred})
