"""Reading JSON request bodies: every bad field becomes a 400 that names it."""
from __future__ import annotations

from typing import Any, Iterable

from flask import request

from ..errors import BadRequest

_MISSING = object()


def json_body(allowed: Iterable[str]) -> dict[str, Any]:
    """The request's JSON object; 400 if it is not one or has fields we do not know."""
    body = request.get_json(silent=True)
    if body is None and not request.get_data():
        body = {}
    if not isinstance(body, dict):
        raise BadRequest("The request body must be a JSON object.")
    unknown = sorted(set(body) - set(allowed))
    if unknown:
        raise BadRequest(f"Unknown field(s): {', '.join(unknown)}.", field=unknown[0])
    return body


def get_text(body: dict[str, Any], name: str, *, max_len: int, required: bool = False,
             allow_empty: bool = True, default: Any = _MISSING) -> Any:
    """A string field, checked for presence, type, emptiness and length."""
    value = body.get(name, _MISSING)
    if value is _MISSING or value is None:
        if required:
            raise BadRequest(f"'{name}' is required.", field=name)
        return None if default is _MISSING else default
    if not isinstance(value, str):
        raise BadRequest(f"'{name}' must be a string.", field=name)
    if not allow_empty and not value.strip():
        raise BadRequest(f"'{name}' must not be empty.", field=name)
    if len(value) > max_len:
        raise BadRequest(f"'{name}' is longer than {max_len} characters.", field=name, limit=max_len)
    return value


def get_int(body: dict[str, Any], name: str, *, lo: int, hi: int, required: bool = False,
            default: Any = None) -> Any:
    """An integer field within [lo, hi] (booleans are not integers here)."""
    value = body.get(name, _MISSING)
    if value is _MISSING or value is None:
        if required:
            raise BadRequest(f"'{name}' is required.", field=name)
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadRequest(f"'{name}' must be an integer.", field=name)
    if not lo <= value <= hi:
        raise BadRequest(f"'{name}' must be between {lo} and {hi}.", field=name)
    return value


def get_choice(body: dict[str, Any], name: str, choices: Iterable[str], *, required: bool = False,
               default: Any = None) -> Any:
    """A string field that must be one of `choices`."""
    choices = tuple(choices)
    value = body.get(name, _MISSING)
    if value is _MISSING or value is None:
        if required:
            raise BadRequest(f"'{name}' is required.", field=name)
        return default
    if value not in choices:
        raise BadRequest(f"'{name}' must be one of: {', '.join(choices)}.", field=name)
    return value


def get_object(body: dict[str, Any], name: str, *, max_keys: int = 100) -> dict[str, Any] | None:
    """A JSON-object field (or None when absent)."""
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, dict):
        raise BadRequest(f"'{name}' must be an object.", field=name)
    if len(value) > max_keys:
        raise BadRequest(f"'{name}' has more than {max_keys} keys.", field=name)
    return value
