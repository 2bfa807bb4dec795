"""Input validation with readable refusals: `validate(model, data)` or a `BadRequest` naming the wrong field.

A pydantic `ValidationError` is told as one sentence about the first wrong field, with its path as
the input spells it (`sections[0].title`), limits and choices from the model's JSON schema.
"""
from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from ..errors import BadRequest
from .jsonbody import format_path

M = TypeVar("M", bound=BaseModel)


def validate(model: type[M], data: Any, *, strict: bool = True, config: Mapping[str, Any] | None = None) -> M:
    """`data` (parsed JSON, or query strings when not strict) as a `model`, or a BadRequest naming the field."""
    context = {"config": config or {}}
    try:
        if strict:  # JSON mode: enums and dates from their JSON form, no str->int coercion
            return model.model_validate_json(json.dumps(data), strict=True, context=context)
        return model.model_validate(data, context=context)
    except ValidationError as exc:
        raise _bad_request(model, exc) from None


# ---- a ValidationError, told as one sentence about the first wrong field ----

_KINDS = {"string": "a string", "int": "an integer", "float": "a number", "bool": "true or false",
          "list": "a list", "dict": "an object", "model": "an object", "model_attributes": "an object",
          "none_required": "null", "tuple": "a list", "set": "a list"}


def _kind(error_type: str) -> str | None:
    for suffix in ("_type", "_parsing", "_from_float", ""):
        if error_type.endswith(suffix) and error_type[: len(error_type) - len(suffix)] in _KINDS:
            return _KINDS[error_type[: len(error_type) - len(suffix)]]
    return None


@functools.lru_cache(maxsize=256)
def _schema(model: type[BaseModel]) -> dict[str, Any]:
    try:
        return model.model_json_schema()
    except Exception:  # a type without a JSON schema: paths fall back to pydantic's loc
        return {}


def _expand(nodes: list[Any], defs: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Resolve $ref and flatten anyOf/oneOf/allOf into the candidate schemas."""
    out: list[dict[str, Any]] = []
    for node in nodes:
        if not isinstance(node, dict):
            continue
        if "$ref" in node:
            node = defs.get(node["$ref"].rsplit("/", 1)[-1], {})
        branches = node.get("anyOf") or node.get("oneOf") or node.get("allOf")
        out.extend(_expand(branches, defs) if branches else [node])
    return out


def _locate(model: type[BaseModel], loc: tuple[Any, ...],
            key_last: bool) -> tuple[tuple[Any, ...], list[dict[str, Any]]]:
    """The input path of an error (union member tags dropped) and the schemas found there."""
    schema = _schema(model)
    defs, nodes, path = schema.get("$defs", {}), _expand([schema], schema.get("$defs", {})), []
    for i, part in enumerate(loc):
        if isinstance(part, int):
            nxt = [n["items"] for n in nodes if isinstance(n.get("items"), dict)]
        else:
            nxt = [n["properties"][part] for n in nodes if part in n.get("properties", {})]
            nxt = nxt or [n["additionalProperties"] for n in nodes if isinstance(n.get("additionalProperties"), dict)]
            if schema and not nxt and not (key_last and i == len(loc) - 1):
                continue  # e.g. 'int' in ('x', 'int'): which union member failed, not a place in the input
        path.append(part)
        nodes = _expand(nxt, defs)
    return tuple(path), nodes


def _bad_request(model: type[BaseModel], exc: ValidationError) -> BadRequest:
    errors = exc.errors(include_url=False)
    extra = [e for e in errors if e["type"] == "extra_forbidden"]
    if extra:
        names = sorted(format_path(_locate(model, tuple(e["loc"]), True)[0]) for e in extra)
        return BadRequest(f"Unknown field(s): {', '.join(names)}.", field=names[0])
    first = errors[0]
    loc, nodes = _locate(model, tuple(first["loc"]), False)
    path = format_path(loc)
    name = f"'{path}'" if path else "The body"
    ctx, kind = first.get("ctx") or {}, first["type"]
    details: dict[str, Any] = {"field": path} if path else {}
    bounds = {k: n[k] for n in nodes for k in ("minimum", "maximum", "enum") if k in n}
    if kind == "missing":
        message = f"{name} is required."
    elif kind == "string_too_long":
        message, details["limit"] = f"{name} is longer than {ctx['max_length']} characters.", ctx["max_length"]
    elif kind == "too_long":
        message, details["limit"] = f"{name} has more than {ctx['max_length']} items.", ctx["max_length"]
    elif kind == "string_too_short" and ctx.get("min_length") == 1:
        message = f"{name} must not be empty."
    elif kind in ("string_too_short", "too_short"):
        unit = "characters" if kind == "string_too_short" else "items"
        message = f"{name} needs at least {ctx['min_length']} {unit}."
    elif kind in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
        if "minimum" in bounds and "maximum" in bounds:
            message = f"{name} must be between {bounds['minimum']} and {bounds['maximum']}."
        else:
            words = {"ge": "at least", "le": "at most", "gt": "greater than", "lt": "less than"}
            key = next(k for k in words if k in ctx)
            message = f"{name} must be {words[key]} {ctx[key]}."
    elif kind in ("literal_error", "enum"):
        choices = ", ".join(str(c) for c in bounds["enum"]) if "enum" in bounds else ctx.get("expected", "")
        message = f"{name} must be one of: {choices}."
    elif not path and kind in ("model_type", "dict_type", "model_attributes_type"):
        message = "The body must be a JSON object."
    elif _kind(kind):
        same = [_kind(e["type"]) for e in errors if _locate(model, tuple(e["loc"]), False)[0] == loc]
        kinds = list(dict.fromkeys(k for k in same if k))
        message = f"{name} must be {' or '.join(kinds)}."
    else:  # a custom validator's own words, or pydantic's
        message = f"{name}: {first['msg'].removeprefix('Value error, ').rstrip('.')}."
    return BadRequest(message, **details)
