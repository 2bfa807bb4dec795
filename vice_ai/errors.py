"""One error family, one JSON shape: {"error": {"code": ..., "message": ..., ...}}."""
from __future__ import annotations

import logging
from typing import Any

from flask import Flask, jsonify, request
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

log = logging.getLogger(__name__)


class ApiError(Exception):
    """An error the API reports to its caller with a status and a stable code."""

    status = 500
    code = "internal_error"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def to_dict(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message, **self.details}}


class BadRequest(ApiError):
    status = 400
    code = "bad_request"


class NotFound(ApiError):
    status = 404
    code = "not_found"


class Conflict(ApiError):
    status = 409
    code = "conflict"


class Busy(Conflict):
    """The session is already generating a reply."""

    code = "busy"


class PayloadTooLarge(ApiError):
    status = 413
    code = "payload_too_large"


class ModelError(ApiError):
    """The model server failed; `retryable` says whether sending again may help."""

    status = 502
    code = "model_error"

    def __init__(self, message: str, *, retryable: bool = True, reason: str = "model_error", **details: Any):
        super().__init__(message, retryable=retryable, reason=reason, **details)
        self.retryable = retryable
        self.reason = reason


def error_response(err: ApiError):
    return jsonify(err.to_dict()), err.status


def init_app(app: Flask) -> None:
    """Answer every error, ours or werkzeug's, in the one JSON shape."""

    @app.before_request
    def _refuse_large_bodies() -> None:
        # Werkzeug enforces MAX_CONTENT_LENGTH only when a view reads the body; refuse
        # up front so every route answers 413 the same way and does no work first.
        limit = app.config.get("MAX_CONTENT_LENGTH")
        length = request.content_length
        if limit is not None and length is not None and length > limit:
            raise RequestEntityTooLarge()

    @app.errorhandler(ApiError)
    def _api_error(err: ApiError):
        return error_response(err)

    @app.errorhandler(HTTPException)
    def _http_error(err: HTTPException):
        code = (err.name or "error").lower().replace(" ", "_")
        error: dict[str, Any] = {"code": code, "message": err.description or err.name}
        if err.code == 413:
            error["code"] = "payload_too_large"
            error["limit"] = app.config.get("MAX_CONTENT_LENGTH")
        # Keep werkzeug's headers (a 405 must say which methods are allowed), not its HTML type.
        headers = [(k, v) for k, v in err.get_headers() if k.lower() != "content-type"]
        return jsonify({"error": error}), err.code or 500, headers

    @app.errorhandler(Exception)
    def _unexpected(err: Exception):
        log.exception("unhandled error")
        body = {"error": {"code": "internal_error", "message": "Something went wrong on the server; it has been logged."}}
        return jsonify(body), 500
