"""The OpenAPI 3.1 document, built from the declarations on the views; served with a reference page.

`build_openapi(app)` describes every rule of `app.url_map`: declared views fully,
websocket routes (flask-sock) as GET operations with `x-websocket: true`, Flask's
static files as downloads, and anything else with `x-undeclared: true` (or, with
`strict=True`, an `UndeclaredRoutes` error listing them, for tests).

The reference page at /api/docs is Swagger UI as shipped in the `flask-openapi3-swagger`
wheel; its files are served from that package by our own route (flask-openapi3 itself is
never imported), and the page is started by our static/js/apidocs.js, not inline code.
"""
from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Mapping
from importlib import resources
from typing import Any

from flask import Blueprint, Flask, Response, current_app, jsonify, request, url_for
from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema
from werkzeug.routing import Rule

from ..errors import NotFound
from .declare import JSON, Declaration, ErrorOut, Upload, declaration_of, declare

__all__ = ["bp", "build_openapi", "register_websocket_messages", "UndeclaredRoutes"]

REF = "#/components/schemas/{model}"
IGNORED_METHODS = {"HEAD", "OPTIONS"}
_CACHE, _WS = "vice_openapi", "vice_openapi_ws"
# A socket's (commands by type, events by type).
WsMessages = tuple[Mapping[str, type[BaseModel]], Mapping[str, type[BaseModel]]]
_VARIABLE = re.compile(r"<(?:(?P<converter>\w+)(?:\([^)]*\))?:)?(?P<name>\w+)>")
_CONVERTERS: dict[str, dict[str, Any]] = {
    "int": {"type": "integer"}, "float": {"type": "number"}, "uuid": {"type": "string", "format": "uuid"},
}


class UndeclaredRoutes(RuntimeError):
    """Raised by `build_openapi(strict=True)`: these endpoints have no `@declare`."""


def _path(rule: str) -> tuple[str, list[dict[str, Any]]]:
    """'/a/<int:version>' -> ('/a/{version}', [its path parameter])."""
    params = [{"name": m["name"], "in": "path", "required": True,
               "schema": dict(_CONVERTERS.get(m["converter"] or "", {"type": "string"}))}
              for m in _VARIABLE.finditer(rule)]
    return _VARIABLE.sub(lambda m: "{" + m["name"] + "}", rule), params


def _models(decls: Iterable[Declaration], commands: Mapping[str, type[BaseModel]],
            events: Mapping[str, type[BaseModel]], sockets: Mapping[str, WsMessages] | None = None,
            ) -> list[tuple[type[BaseModel], JsonSchemaMode]]:
    wanted: dict[tuple[type[BaseModel], JsonSchemaMode], None] = {(ErrorOut, "serialization"): None}
    for decl in decls:
        for model in (decl.body, decl.query, decl.upload.form if decl.upload else None):
            if model is not None:
                wanted[(model, "validation")] = None
        for spec in decl.responses.values():
            for model in (spec.model, *(alt for _, alt in spec.alternatives)):
                if model is not None:
                    wanted[(model, "serialization")] = None
    wanted.update({(m, "validation"): None for m in commands.values()})
    wanted.update({(m, "serialization"): None for m in events.values()})
    for messages in (sockets or {}).values():
        for group, mode in zip(messages, ("validation", "serialization"), strict=True):
            wanted.update({(m, mode): None for m in group.values()})  # type: ignore[misc]
    return list(wanted)


def _upload_schema(upload: Upload, schemas: Mapping[str, Any], refs: Mapping[Any, Any]) -> dict[str, Any]:
    """A multipart body: each file field (binary) and the form model's fields, inline."""
    props: dict[str, Any] = {name: {"type": "string", "format": "binary"} for name in upload.files}
    required = list(upload.files)
    if upload.form is not None:
        form = schemas[refs[(upload.form, "validation")]["$ref"].rsplit("/", 1)[-1]]
        props.update(form.get("properties", {}))
        required += form.get("required", [])
    return {"type": "object", "properties": props, "required": required, "additionalProperties": False}


def _error(description: str, error_ref: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {JSON: {"schema": error_ref}}}


def _operation(rule: Rule, method: str, decl: Declaration | None, view: Callable[..., Any] | None,
               refs: Mapping[tuple[Any, JsonSchemaMode], dict[str, Any]],
               schemas: Mapping[str, Any]) -> dict[str, Any]:
    error_ref = refs[(ErrorOut, "serialization")]
    blueprint = rule.endpoint.rpartition(".")[0]
    op: dict[str, Any] = {"tags": list(decl.tags) if decl and decl.tags else [blueprint or "app"]}
    summary = decl.summary if decl else next(iter((getattr(view, "__doc__", None) or "").strip().splitlines()), None)
    if summary:
        op["summary"] = summary
    if decl and decl.description:
        op["description"] = decl.description
    if getattr(rule, "websocket", False):
        op["x-websocket"] = True
        if decl is None:
            op["x-undeclared"] = True
        op["responses"] = {"101": {"description": "Switching Protocols: the socket is open"},
                           **{str(s): _error(d, error_ref) for s, d in
                              ((401, "Not signed in"), (403, "Refused (another site)"), (404, "Not found"))}}
        return op
    if decl is None and rule.endpoint.split(".")[-1] == "static":
        op["summary"] = summary or "A static file"
        op["responses"] = {"200": {"description": "The file", "content": {"application/octet-stream": {}}},
                           "404": _error("No such file", error_ref)}
        return op
    if decl is None:
        op["x-undeclared"] = True
        op["responses"] = {"default": {"description": "Undeclared: see the view's code"}}
        return op
    if decl.query is not None:
        model = schemas[refs[(decl.query, "validation")]["$ref"].rsplit("/", 1)[-1]]
        required = set(model.get("required", []))
        for name, prop in model.get("properties", {}).items():
            param = {"name": name, "in": "query", "required": name in required,
                     "schema": {k: v for k, v in prop.items() if k not in ("title", "description")}}
            if prop.get("description"):
                param["description"] = prop["description"]
            op.setdefault("parameters", []).append(param)
    if decl.body is not None:
        body_required = any(f.is_required() for f in decl.body.model_fields.values())
        op["requestBody"] = {"required": body_required,
                             "content": {decl.content_type: {"schema": refs[(decl.body, "validation")]}}}
    if decl.upload is not None:
        op["requestBody"] = {"required": True, "content": {decl.content_type: {"schema": _upload_schema(
            decl.upload, schemas, refs)}}}
    responses: dict[str, Any] = {}
    for status, spec in sorted(decl.responses.items()):
        entry: dict[str, Any] = {"description": spec.description or str(status)}
        if spec.media_type is not None:
            entry["content"] = {media: ({"schema": refs[(model, "serialization")]} if model is not None else {})
                                for media, model in ((spec.media_type, spec.model), *spec.alternatives)}
        responses[str(status)] = entry
    responses.setdefault("4XX", _error("A refusal, in the one error shape", error_ref))
    responses.setdefault("5XX", _error("A server or model failure, in the one error shape", error_ref))
    op["responses"] = responses
    return op


def build_openapi(app: Flask, *, strict: bool = False, title: str = "VICE AI", version: str = "0.1.0",
                  ws_commands: Mapping[str, type[BaseModel]] | None = None,
                  ws_events: Mapping[str, type[BaseModel]] | None = None,
                  ws_sockets: Mapping[str, WsMessages] | None = None) -> dict[str, Any]:
    """The OpenAPI 3.1.0 document of every rule in `app.url_map` (see the module docstring)."""
    commands, events = dict(ws_commands or {}), dict(ws_events or {})
    rules = sorted(app.url_map.iter_rules(), key=lambda r: (r.rule, r.endpoint))
    views = {r.endpoint: app.view_functions.get(r.endpoint) for r in rules}
    decls = {e: d for e, d in ((e, declaration_of(v)) for e, v in views.items()) if d is not None}
    undeclared = sorted(e for e in views if e not in decls and e.split(".")[-1] != "static")
    if strict and undeclared:
        raise UndeclaredRoutes(f"Routes without @declare: {', '.join(undeclared)}")
    key_map, top = models_json_schema(_models(decls.values(), commands, events, ws_sockets), ref_template=REF)
    schemas: dict[str, Any] = top.get("$defs", {})
    refs = {key: dict(value) for key, value in key_map.items()}
    paths: dict[str, dict[str, Any]] = {}
    used: set[str] = set()
    for rule in rules:
        path, params = _path(rule.rule)
        methods = ["GET"] if getattr(rule, "websocket", False) else sorted((rule.methods or set()) - IGNORED_METHODS)
        for method in methods:
            item = paths.setdefault(path, {})
            if method.lower() in item:
                continue  # an earlier rule already answers this path and method
            op = _operation(rule, method, decls.get(rule.endpoint), views[rule.endpoint], refs, schemas)
            op_id = rule.endpoint if rule.endpoint not in used else f"{rule.endpoint}.{method.lower()}"
            while op_id in used:
                op_id += "_"
            used.add(op_id)
            if params:
                op["parameters"] = params + op.get("parameters", [])
            item[method.lower()] = {"operationId": op_id, **op}
    doc: dict[str, Any] = {"openapi": "3.1.0", "info": {"title": title, "version": version},
                           "paths": paths, "components": {"schemas": schemas}}
    if commands or events:
        doc["x-websocket"] = {"commands": {n: refs[(m, "validation")] for n, m in commands.items()},
                              "events": {n: refs[(m, "serialization")] for n, m in events.items()}}
        for name, (cmds, evs) in (ws_sockets or {}).items():  # the other sockets': documents, lists
            doc["x-websocket"][name] = {"commands": {n: refs[(m, "validation")] for n, m in cmds.items()},
                                        "events": {n: refs[(m, "serialization")] for n, m in evs.items()}}
    return doc


def register_websocket_messages(app: Flask, commands: Mapping[str, type[BaseModel]],
                                events: Mapping[str, type[BaseModel]], **sockets: WsMessages) -> None:
    """The websocket commands and events that the served document lists under `x-websocket` (another socket's
    under `x-websocket.<name>`: the document socket's `documents`, the document list's `lists`)."""
    app.extensions[_WS] = (dict(commands), dict(events), sockets)
    app.extensions.pop(_CACHE, None)


# ---- serving: the document, the reference page and its files ----

bp = Blueprint("openapi", __name__)

# name -> (package, file inside it, media type). Only these are served.
ASSETS: dict[str, tuple[str, str, str]] = {
    "swagger-ui.css": ("flask_openapi3_swagger", "templates/swagger/css/swagger-ui.css", "text/css"),
    "swagger-ui-bundle.js": ("flask_openapi3_swagger", "templates/swagger/js/swagger-ui-bundle.js", "text/javascript"),
    "favicon.svg": ("flask_openapi3_swagger", "templates/swagger/images/swagger.svg", "image/svg+xml"),
    "apidocs.js": ("vice_ai", "static/js/apidocs.js", "text/javascript"),
}

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>VICE AI · API reference</title>
<link rel="icon" href="{favicon}">
<link rel="stylesheet" href="{css}">
</head>
<body>
<div id="api-reference" data-spec-url="{spec}"></div>
<script src="{bundle}"></script>
<script src="{init}"></script>
</body>
</html>
"""


@functools.lru_cache(maxsize=len(ASSETS))
def _asset_bytes(name: str) -> bytes:
    package, inner, _ = ASSETS[name]
    return resources.files(package).joinpath(inner).read_bytes()


@bp.get("/api/openapi.json")
@declare(responses={200: (JSON, "The OpenAPI 3.1 document of this API")}, tags=["reference"])
def openapi_document() -> Response:
    """This API's OpenAPI 3.1 document."""
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    if _CACHE not in app.extensions:
        commands, events, sockets = app.extensions.get(_WS, ({}, {}, {}))
        app.extensions[_CACHE] = build_openapi(app, ws_commands=commands, ws_events=events, ws_sockets=sockets)
    return jsonify(app.extensions[_CACHE])


@bp.get("/api/docs")
@declare(responses={200: "text/html"}, tags=["reference"])
def reference_page() -> Response:
    """The API reference, readable in a browser."""
    def asset(name: str) -> str:
        return url_for("openapi.asset", name=name)

    html = PAGE.format(favicon=asset("favicon.svg"), css=asset("swagger-ui.css"), bundle=asset("swagger-ui-bundle.js"),
                       init=asset("apidocs.js"), spec=url_for("openapi.openapi_document"))
    return Response(html, mimetype="text/html")


@bp.get("/api/docs/assets/<path:name>")
@declare(responses={200: ("application/octet-stream", "The file (CSS, JavaScript or an image)"), 404: ErrorOut},
         tags=["reference"])
def asset(name: str) -> Response:
    """A file of the reference page, from the installed package."""
    if name not in ASSETS:
        raise NotFound("No such file.")
    response = Response(_asset_bytes(name), mimetype=ASSETS[name][2])
    response.cache_control.public = True
    response.cache_control.max_age = 3600
    response.add_etag()
    response.make_conditional(request)
    return response
