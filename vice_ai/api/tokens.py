"""HTTP API for a user's API tokens: make one (shown once), list them, revoke one.

Not there in local mode (404): that mode has no sign-in, so scripts need no token.
"""
from __future__ import annotations

from flask import Blueprint, jsonify

from ..accounts import service
from .accounts import guarded
from .declare import declare
from .schemas.tokens import CreateTokenIn, NewTokenOut, RevokedOut, TokensOut

bp = Blueprint("tokens_api", __name__, url_prefix="/api/me/tokens")
TAGS = ["accounts"]

token_mode_only = guarded(service.require_token_mode)


@bp.get("")
@token_mode_only
@declare(responses={200: TokensOut}, tags=TAGS)
def list_tokens():
    """The user's API tokens: name, hint, when made and last used (never the token)."""
    return jsonify({"tokens": service.list_tokens(service.signed_in_user())})


@bp.post("")
@token_mode_only
@declare(body=CreateTokenIn, responses={201: NewTokenOut}, tags=TAGS)
def create_token(body: CreateTokenIn):
    """A new API token for scripts (`Authorization: Bearer <token>`): the answer holds it, this once."""
    info, token = service.create_token(service.signed_in_user(), body.name)
    return jsonify({"token": token, "info": info}), 201


@bp.delete("/<token_id>")
@token_mode_only
@declare(responses={200: RevokedOut}, tags=TAGS)
def revoke_token(token_id: str):
    """Revoke a token: requests with it answer 401 at once and its open websockets close."""
    service.revoke_token(service.signed_in_user(), token_id)
    return jsonify({"revoked": True})
