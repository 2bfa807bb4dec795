"""HTTP API about the server itself: health and the models users may pick."""
from __future__ import annotations

from flask import Blueprint, jsonify

from ..accounts.identity import current_user
from ..services import services
from .declare import declare
from .schemas.documents import HealthOut, ModelsOut

bp = Blueprint("system", __name__, url_prefix="/api")

# What the state of the data folder means for the people using the app (health and the pages' banner).
NOTICES = {
    "full": "The server's disk is full: you can read everything, but changes are not saved until space is freed.",
    "read_only": "The server's data folder is read-only: you can read everything, but nothing can be changed.",
    "gone": "The server's data folder was deleted or replaced while it was running: changes are not saved. "
            "An administrator must restore it and restart the server.",
}


@bp.get("/health")
@declare(responses={200: HealthOut})
def health():
    """Whether the server is up, and its default model (needs no account)."""
    found = services()
    llm, storage, redis = found.llm, found.store.folder.state(), found.hub.bus_state()
    return jsonify({"status": "ok" if storage == "ok" and redis != "unreachable" else "degraded",
                    "offline": llm.offline, "default_model": llm.default_model,
                    "read_only": storage in ("read_only", "gone"), "storage": storage,
                    "storage_message": NOTICES.get(storage), "redis": redis})


@bp.app_context_processor
def _storage_banner() -> dict[str, str | None]:
    """Every page shows a banner while the data folder takes no changes (or has no room for them)."""
    return {"storage_notice": NOTICES.get(services().store.folder.state())}


@bp.get("/models")
@declare(responses={200: ModelsOut})
def models():
    """The models to pick from; `default` is the user's own choice when it is available."""
    llm = services().llm
    user = current_user()
    preferred, _ = llm.resolve(user.model if user is not None else None)
    return jsonify({**llm.describe(), "default": preferred})
