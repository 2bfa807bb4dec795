"""Declared inputs and answers for views: `@declare(body=..., query=..., responses=...)`.

The wrapper parses the body with `parse_json`, validates it with the pydantic model
(JSON rules, strict: "5" is not an integer, true is not a number) and passes it as
`body=`; the query string (one value per name, lax: "1"/"yes" are booleans) goes in
as `query=`. Every failure is a `BadRequest` naming the field as a path
(`sections[0].title`). The declaration is kept on the view for `openapi.build_openapi`.

Limits set in app config (MAX_TITLE_CHARS, ...) are declared with `ConfigMaxLen`: the
schema shows the default, and validation reads the running app's value from the
validation context, so a test app with MAX_TITLE_CHARS=10 refuses 11 characters with
the same message and path as any other limit; views need no second check.
"""
from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, TypeVar

from flask import current_app, request
from pydantic import BaseModel, ConfigDict, GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import PydanticCustomError, core_schema

from ..errors import BadRequest, TooLarge
from .jsonbody import parse_json
from .validation import validate

__all__ = ["Schema", "ErrorDetail", "ErrorOut", "ConfigMaxLen", "NotBlank", "ResponseSpec", "Declaration", "declare",
           "declare_websocket", "declaration_of", "validate", "Upload", "UploadedFile", "upload_of", "upload_limit",
           "too_large_upload"]

F = TypeVar("F", bound=Callable[..., Any])
ATTRIBUTE = "__vice_declaration__"
JSON = "application/json"
MULTIPART = "multipart/form-data"
FORM_ALLOWANCE = 64 * 1024  # what an upload's request may carry beside its files (boundaries, form fields)


class Schema(BaseModel):
    """Base for request models: unknown fields are refused."""

    model_config = ConfigDict(extra="forbid")


class ErrorDetail(BaseModel):
    model_config = ConfigDict(extra="allow")
    code: str
    message: str
    field: str | None = None


class ErrorOut(BaseModel):
    """The one error shape: {"error": {"code", "message", ...details}}."""

    error: ErrorDetail


@dataclass(frozen=True)
class ConfigMaxLen:
    """A length limit read from app config at validation time (`default` when there is no app)."""

    key: str
    default: int

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        return core_schema.with_info_after_validator_function(self._check, handler(source))

    def __get_pydantic_json_schema__(self, schema: core_schema.CoreSchema,
                                     handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        out = handler(schema)
        out.update({"maxLength" if out.get("type") == "string" else "maxItems": self.default, "x-config": self.key})
        return out

    def _check(self, value: Any, info: core_schema.ValidationInfo) -> Any:
        if value is None:
            return value
        config = (info.context or {}).get("config") or {}
        limit = int(config.get(self.key, self.default))
        if len(value) > limit:
            kind = "string_too_long" if isinstance(value, str) else "too_long"
            raise PydanticCustomError(kind, "Longer than {max_length}", {"max_length": limit})
        return value

@dataclass(frozen=True)
class NotBlank:
    """A string with at least one character that is not white space (schema: minLength 1, pattern \\S)."""

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        return core_schema.no_info_after_validator_function(self._check, handler(source))

    def __get_pydantic_json_schema__(self, schema: core_schema.CoreSchema,
                                     handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        out = handler(schema)
        out.update({"minLength": 1, "pattern": r"\S"})
        return out

    @staticmethod
    def _check(value: Any) -> Any:
        if isinstance(value, str) and not value.strip():
            # The type the declare machinery words as "'title' must not be empty."
            raise PydanticCustomError("string_too_short", "String should have at least {min_length} character",
                                      {"min_length": 1})
        return value


@dataclass(frozen=True)
class ResponseSpec:
    media_type: str | None  # None: no content
    model: type[BaseModel] | None = None
    description: str = ""
    # Other media types the same status may answer with (e.g. a download as Markdown or JSON).
    alternatives: tuple[tuple[str, type[BaseModel] | None], ...] = ()

    def model_for(self, media_type: str) -> type[BaseModel] | None:
        if media_type == self.media_type:
            return self.model
        return next((model for media, model in self.alternatives if media == media_type), None)


@dataclass(frozen=True)
class Upload:
    """A multipart/form-data body: exactly one file in each field of `files`, other fields read with `form`.

    Each file may be up to app config `limit_key` bytes (413 above, before the body is read).
    """

    files: tuple[str, ...] = ("file",)
    form: type[BaseModel] | None = None
    limit_key: str = "MAX_UPLOAD_BYTES"


@dataclass(frozen=True)
class UploadedFile:
    """One uploaded file, read whole (its size is bounded by the upload's limit)."""

    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True)
class Declaration:
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    responses: Mapping[int, ResponseSpec] = field(default_factory=dict)
    summary: str | None = None
    description: str | None = None
    tags: tuple[str, ...] = ()
    content_type: str = JSON
    websocket: bool = False
    upload: Upload | None = None


ResponseArg = type[BaseModel] | str | tuple[str, type[BaseModel] | str] | ResponseSpec | None


def _response(status: int, value: ResponseArg) -> ResponseSpec:
    phrase = HTTPStatus(status).phrase
    if isinstance(value, ResponseSpec):
        return value
    if value is None:
        return ResponseSpec(None, None, phrase)
    if isinstance(value, str):  # a media type, or else just a description
        return ResponseSpec(value, None, phrase) if "/" in value else ResponseSpec(None, None, value)
    if isinstance(value, tuple):
        media_type, what = value
        if isinstance(what, str):
            return ResponseSpec(media_type, None, what)
        return ResponseSpec(media_type, what, what.__doc__ or phrase)
    return ResponseSpec(JSON, value, phrase)


def _docstring(view: Callable[..., Any]) -> tuple[str | None, str | None]:
    lines = (view.__doc__ or "").strip().splitlines()
    first = lines[0].strip() if lines else None
    rest = "\n".join(line.strip() for line in lines[1:]).strip() or None
    return first, rest


def declare(*, body: type[BaseModel] | None = None, query: type[BaseModel] | None = None,
            responses: Mapping[int, ResponseArg] | None = None, summary: str | None = None,
            description: str | None = None, tags: tuple[str, ...] | list[str] | None = None,
            content_type: str = JSON, max_depth: int = 32, upload: Upload | None = None) -> Callable[[F], F]:
    """Declare a view's input and answers; the view gets `body=` / `query=` already validated.

    With `upload=Upload(...)` the body is multipart/form-data: the view gets `files=` (field name ->
    `UploadedFile`) and, when the upload declares a form model, `form=`.

    `responses` maps a status to a model (JSON), a media type ("text/html"), a pair
    (media type, model or description), a description alone, or None (no content). Pages and downloads
    declare just their responses. Errors (4XX/5XX, `ErrorOut`) are implied.
    """
    if body is not None and not (content_type == JSON or content_type.endswith("+json")):
        raise ValueError("declare(body=...) reads JSON; content_type must be a JSON media type")
    if body is not None and upload is not None:
        raise ValueError("declare() takes a JSON body or an upload, not both")

    def decorator(view: F) -> F:
        doc_summary, doc_description = _docstring(view)
        decl = Declaration(body=body, query=query, summary=summary or doc_summary,
                           description=description or doc_description, tags=tuple(tags or ()),
                           responses={int(s): _response(int(s), v) for s, v in (responses or {200: JSON}).items()},
                           content_type=MULTIPART if upload is not None else content_type, upload=upload)

        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            config = current_app.config
            if body is not None:
                kwargs["body"] = validate(body, _read_body(content_type, max_depth), config=config)
            if upload is not None:
                kwargs.update(_read_upload(upload, config))
            if query is not None:
                kwargs["query"] = validate(query, _read_query(), strict=False, config=config)
            answer = view(*args, **kwargs)
            if config.get("API_CHECK_RESPONSES"):
                answer = _check_response(decl, answer)
            return answer

        setattr(wrapper, ATTRIBUTE, decl)
        return wrapper  # type: ignore[return-value]

    return decorator


def declare_websocket(*, summary: str | None = None, description: str | None = None,
                      tags: tuple[str, ...] | list[str] | None = None) -> Callable[[F], F]:
    """Describe a flask-sock route (put it under `@sock.route`); it reads nothing, the socket speaks for itself."""

    def decorator(view: F) -> F:
        doc_summary, doc_description = _docstring(view)
        setattr(view, ATTRIBUTE, Declaration(summary=summary or doc_summary, tags=tuple(tags or ()),
                                             description=description or doc_description, websocket=True))
        return view

    return decorator


def declaration_of(view: Callable[..., Any] | None) -> Declaration | None:
    found = getattr(view, ATTRIBUTE, None)
    return found if isinstance(found, Declaration) else None


def _read_body(content_type: str, max_depth: int) -> Any:
    raw = request.get_data(cache=True)
    if not raw:
        return {}  # no body: the model decides whether that is enough
    mimetype = request.mimetype
    if mimetype not in (JSON, content_type) and not mimetype.endswith("+json"):
        raise BadRequest(f"The request body must be JSON (Content-Type: {content_type}).")
    return parse_json(raw, max_depth=max_depth)


def upload_of(view: Callable[..., Any] | None) -> Upload | None:
    decl = declaration_of(view)
    return decl.upload if decl is not None else None


def upload_limit(config: Mapping[str, Any], upload: Upload) -> int:
    """The largest request an upload route reads: its files plus the form allowance."""
    return int(config[upload.limit_key]) * len(upload.files) + FORM_ALLOWANCE


def too_large_upload(config: Mapping[str, Any], upload: Upload) -> TooLarge:
    limit = int(config[upload.limit_key])
    shown = f"{limit / 1024 / 1024:.1f} MB" if limit >= 1024 * 1024 else f"{limit} bytes"
    return TooLarge(f"The file is larger than the limit of {shown}.", limit=limit)


def _read_upload(upload: Upload, config: Mapping[str, Any]) -> dict[str, Any]:
    if request.mimetype != MULTIPART:
        names = ", ".join(f"'{name}'" for name in upload.files)
        raise BadRequest(f"Send the file as multipart/form-data (field {names}).")
    files: dict[str, UploadedFile] = {}
    for name in upload.files:
        given = request.files.getlist(name)
        if len(given) != 1:
            message = f"'{name}' is required." if not given else f"'{name}' is given more than once."
            raise BadRequest(message, field=name)
        data = given[0].read(int(config[upload.limit_key]) + 1)
        if len(data) > int(config[upload.limit_key]):
            raise too_large_upload(config, upload)
        files[name] = UploadedFile(filename=given[0].filename or name,
                                   content_type=given[0].mimetype or "application/octet-stream", data=data)
    extra = sorted(set(request.files) - set(upload.files))
    if extra:
        raise BadRequest(f"Unknown file field(s): {', '.join(extra)}.", field=extra[0])
    out: dict[str, Any] = {"files": files}
    if upload.form is not None:
        fields: dict[str, str] = {}
        for name, items in request.form.lists():
            if len(items) > 1:
                raise BadRequest(f"'{name}' is given more than once.", field=name)
            fields[name] = items[0]
        out["form"] = validate(upload.form, fields, strict=False, config=config)
    elif request.form:
        raise BadRequest(f"Unknown field(s): {', '.join(sorted(request.form))}.", field=sorted(request.form)[0])
    return out


def _read_query() -> dict[str, str]:
    values: dict[str, str] = {}
    for name, items in request.args.lists():
        if len(items) > 1:
            raise BadRequest(f"'{name}' is given more than once.", field=name)
        values[name] = items[0]
    return values


def _check_response(decl: Declaration, answer: Any) -> Any:
    """With API_CHECK_RESPONSES (tests), a JSON answer must match its declared model."""
    response = current_app.make_response(answer)
    spec = decl.responses.get(response.status_code)
    model = spec.model_for(response.mimetype or "") if spec is not None else None
    if model is not None and response.is_json:
        model.model_validate(response.get_json())
    return response
