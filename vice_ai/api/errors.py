"""The web boundary for errors: each error class maps to one status, every answer has the one JSON shape."""
from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge, RequestURITooLarge

from ..errors import (
    BadRequest,
    Conflict,
    Forbidden,
    ModelError,
    NotFound,
    RateLimited,
    StorageError,
    StorageFull,
    TooLarge,
    Unauthorized,
    Unavailable,
    ViceError,
)
from .declare import too_large_upload, upload_limit, upload_of

log = logging.getLogger(__name__)

# The first class in an error's MRO that is listed here gives its status.
STATUS: dict[type[ViceError], int] = {
    BadRequest: 400,
    Unauthorized: 401,
    Forbidden: 403,
    NotFound: 404,
    Conflict: 409,
    TooLarge: 413,
    RateLimited: 429,
    ModelError: 502,
    StorageFull: 507,  # Insufficient Storage
    StorageError: 503,  # read-only or vanished data folder: the service cannot take changes now
    Unavailable: 503,  # Redis (REDIS_URL) not reachable
}
# Model errors that are the model server taking too long: 504 (gateway timeout), not 502.
TIMEOUT_REASONS = frozenset({"timeout", "stalled"})


def status_of(err: ViceError) -> int:
    if isinstance(err, ModelError) and err.reason in TIMEOUT_REASONS:
        return 504
    for cls in type(err).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 500


def error_response(err: ViceError, extra: dict[str, Any] | None = None) -> tuple[Response, int, dict[str, str]]:
    """The answer for an error: its status, the one shape (plus `extra` fields), Retry-After when it has one."""
    body = err.to_dict()
    if extra:
        body["error"].update(extra)
    headers = {"Retry-After": str(err.retry_after)} if isinstance(err, RateLimited) else {}
    return jsonify(body), status_of(err), headers


def init_app(app: Flask) -> None:
    """Answer every error, ours or werkzeug's, in the one JSON shape."""

    @app.before_request
    def _refuse_oversized() -> None:
        # Werkzeug enforces MAX_CONTENT_LENGTH only when a view reads the body; refuse
        # up front so every route answers 413 the same way and does no work first.
        limit = app.config.get("MAX_CONTENT_LENGTH")
        upload = upload_of(app.view_functions.get(request.endpoint or ""))
        if upload is not None:  # an upload route has its own, larger limit
            limit = upload_limit(app.config, upload)
            request.max_content_length = limit
        length = request.content_length
        if limit is not None and length is not None and length > limit:
            if upload is not None:
                raise too_large_upload(app.config, upload)
            raise RequestEntityTooLarge()
        url_limit = app.config.get("MAX_URL_CHARS")
        if url_limit is not None and len(request.full_path) > url_limit:
            raise RequestURITooLarge(f"The URL is longer than {url_limit} characters.")

    @app.errorhandler(ViceError)
    def _vice_error(err: ViceError):
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
        message = "Something went wrong on the server; it has been logged."
        body = {"error": {"code": "internal_error", "message": message}}
        return jsonify(body), 500
