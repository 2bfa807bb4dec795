"""The bundle file (format version 1): a zip of `manifest.json`, `document.json` and `sessions/<n>.json`.

Reading one trusts nothing in it: the zip holds exactly those names (n = 1 ..
the manifest's `sessions`), unpacks to a bounded size, every file is UTF-8 JSON
(no NaN, no lone surrogates) validated by the pydantic models below against the
app's limits (titles, section and message lengths, counts). Ids are only keys
that link the parts together; `bundle.py` checks the links and gives everything
new ids. Fields these models do not name are kept as they are (`extra="allow"`),
so what a newer server wrote survives; the store keeps only what its models know.
"""
from __future__ import annotations

import io
import json
import zipfile
import zlib
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, ValidationInfo
from pydantic_core import PydanticCustomError

from ..config import DEFAULTS
from ..errors import BadRequest, TooLarge
from . import variables as bounds
from .documents import MAX_SECTIONS
from .models import MESSAGE_STATUSES, ROLES, SECTION_STATUSES, SECTION_TYPES, parse_time

FORMAT = "vice-ai-bundle"
VERSION = 1
MAX_SESSIONS = 10_000
MAX_MESSAGES = 200_000  # in the whole bundle
MAX_HISTORY = 100_000  # versions of all sections together
MAX_CONTEXT_DOCUMENTS = 20
MAX_JSON_BYTES = 64 * 1024  # a chat's config, a message's receipt, error or tool calls, ... as JSON
# A zip (bundle or DOCX) may unpack to at most this many times the upload limit.
UNPACKED_FACTOR = 5


def open_zip(name: str, data: bytes, config: Mapping[str, Any]) -> zipfile.ZipFile:
    """A zip file whose declared contents fit the unpacked limit (413 above), or a 400 if it is broken."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError):
        raise BadRequest(f"{name} is a broken zip file (damaged or incomplete).", field="file") from None
    limit = int(config["MAX_UPLOAD_BYTES"]) * UNPACKED_FACTOR
    if sum(info.file_size for info in infos) > limit:
        raise TooLarge(f"{name} unpacks to more than {limit} bytes.", limit=limit)
    return archive


# ---- field types ----

def _limited(key: str) -> AfterValidator:
    """A string no longer than the app's config `key` (read from the validation context)."""

    def check(value: str, info: ValidationInfo) -> str:
        limit = int((info.context or {}).get(key, DEFAULTS[key]))
        if len(value) > limit:
            raise PydanticCustomError("too_long_for_app", "longer than {limit} characters", {"limit": limit})
        return value

    return AfterValidator(check)


def _time(value: str) -> str:
    try:
        if parse_time(value).tzinfo is None:
            raise ValueError
    except ValueError:
        raise PydanticCustomError("bad_time", "not an ISO 8601 time with a time zone") from None
    return value


def _small_json(value: Any) -> Any:
    if len(json.dumps(value, ensure_ascii=False)) > MAX_JSON_BYTES:
        raise PydanticCustomError("too_large", "larger than {limit} bytes as JSON", {"limit": MAX_JSON_BYTES})
    return value


def _small_json_model(value: BaseModel) -> BaseModel:
    _small_json(value.model_dump(exclude_unset=True))
    return value


def _variables(value: dict[str, Any]) -> dict[str, Any]:
    if len(value) > bounds.MAX_VARIABLES or not all(bounds.valid_name(name) for name in value):
        raise PydanticCustomError("bad_variables", "not valid chat variables (names or count)")
    problem = next((p for p in map(bounds.value_problem, value.values()) if p), None)
    if problem or bounds.size_of(value) > bounds.MAX_VARIABLES_BYTES:
        raise PydanticCustomError("bad_variables", "a value that {problem}", {"problem": problem or "is too large"})
    return value


Id = Annotated[str, Field(min_length=1, max_length=100)]
Time = Annotated[str, Field(max_length=64), AfterValidator(_time)]
Title = Annotated[str, _limited("MAX_TITLE_CHARS")]
SectionText = Annotated[str, _limited("MAX_SECTION_CHARS")]
SmallJson = Annotated[Any, AfterValidator(_small_json)]
Short = Annotated[str, Field(max_length=500)]


def _message_text(value: str, info: ValidationInfo) -> str:
    """Tool results may quote a whole section: a message may be as long as a message or a section."""
    context = info.context or {}
    limit = max(int(context.get(k, DEFAULTS[k])) for k in ("MAX_MESSAGE_CHARS", "MAX_SECTION_CHARS"))
    if len(value) > limit:
        raise PydanticCustomError("too_long_for_app", "longer than {limit} characters", {"limit": limit})
    return value


MessageText = Annotated[str, AfterValidator(_message_text)]


class Part(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True)


# ---- the parts ----

class Manifest(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True)
    format: Literal["vice-ai-bundle"]
    version: Literal[1]
    sessions: int = Field(ge=0, le=MAX_SESSIONS)


class Source(Part):
    kind: Literal["edit", "revert", "chat"]  # as the versions route answers them (schemas.resources.VersionSource)
    session_id: Id | None = None
    message_id: Id | None = None
    suggestion_id: Id | None = None


class Version(Part):
    version: int = Field(ge=1, le=2**53)
    content: SectionText
    title: Title
    created_at: Time
    summary: Short
    source: Source


class BundleSection(Part):
    id: Id
    title: Title
    content: SectionText
    type: Literal[SECTION_TYPES]  # type: ignore[valid-type]
    level: int = Field(ge=1, le=6)
    status: Literal[SECTION_STATUSES]  # type: ignore[valid-type]
    version: int = Field(ge=1, le=2**53)
    created_at: Time
    updated_at: Time
    history: list[Version] = Field(max_length=MAX_HISTORY)
    session_ids: list[Id] = Field(max_length=MAX_SESSIONS)


class BundleDocument(Part):
    id: Id
    title: Title
    description: Annotated[str, Field(max_length=10_000)]
    sections: list[BundleSection] = Field(max_length=MAX_SECTIONS)
    created_at: Time
    updated_at: Time


class BundleMessage(Part):
    id: Id
    parent_id: Id | None = None
    role: Literal[ROLES]  # type: ignore[valid-type]
    content: MessageText
    created_at: Time
    status: Literal[MESSAGE_STATUSES]  # type: ignore[valid-type]
    model: Annotated[str, Field(max_length=200)] | None = None
    section_version: int | None = Field(None, ge=0, le=2**53)
    references: SmallJson = Field(default_factory=list)
    receipt: SmallJson = None
    error: SmallJson = None
    tool_calls: SmallJson = None
    tool_call_id: Annotated[str, Field(max_length=200)] | None = None


class Suggestion(Part):
    id: Id
    message_id: Id | None = None
    section_id: Id | None = None
    new_content: SectionText
    summary: Short
    base_version: int = Field(ge=0, le=2**53)
    status: Annotated[str, Field(max_length=40)]


class Stream(Part):
    id: Id
    goal: Annotated[str, Field(max_length=10_000)]
    status: Annotated[str, Field(max_length=40)]


class ContextDocument(Part):
    name: Annotated[str, Field(max_length=1_000)]
    content: SectionText


class SessionConfig(Part):
    """A chat's settings: the keys the engine reads must have their types; others are kept as they are."""

    model: Annotated[str, Field(max_length=200)] | None = None
    temperature: float | None = Field(None, ge=0, le=2)
    system_prompt: Annotated[str, Field(max_length=20_000)] | None = None
    tools: list[Annotated[str, Field(max_length=100)]] | None = Field(None, max_length=50)


class BundleSession(Part):
    id: Id
    section_id: Id
    title: Title
    messages: list[BundleMessage] = Field(max_length=MAX_MESSAGES)
    context_documents: list[ContextDocument] = Field(default_factory=list, max_length=MAX_CONTEXT_DOCUMENTS)
    references: SmallJson = Field(default_factory=list)
    config: Annotated[SessionConfig, AfterValidator(_small_json_model)] | None = None
    variables: Annotated[dict[str, Any], AfterValidator(_variables)] = Field(default_factory=dict)
    suggestions: list[Suggestion] = Field(default_factory=list, max_length=1_000)
    streams: list[Stream] = Field(default_factory=list, max_length=1_000)
    created_at: Time
    updated_at: Time
    archived: bool = False
    archived_at: Time | None = None
    active_leaf: Id | None = None


# ---- reading ----

def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _read_json(archive: zipfile.ZipFile, info: zipfile.ZipInfo, budget: list[int]) -> Any:
    """One file of the zip as JSON; `budget` holds the bytes the zip may still unpack to."""
    try:
        with archive.open(info) as handle:
            raw = handle.read(budget[0] + 1)
    except (zipfile.BadZipFile, RuntimeError, NotImplementedError, zlib.error, EOFError, ValueError):
        raise BadRequest(f"{info.filename} in the bundle cannot be unpacked (damaged or encrypted).",
                         field="file") from None
    if len(raw) > budget[0]:
        raise TooLarge("The bundle unpacks to more than the limit.")
    budget[0] -= len(raw)
    try:
        value = json.loads(raw.decode("utf-8"), parse_constant=_refuse_constant)
        json.dumps(value, ensure_ascii=False).encode("utf-8")  # lone surrogates cannot be stored
    except (ValueError, RecursionError, UnicodeError):
        raise BadRequest(f"{info.filename} in the bundle is not valid JSON.", field="file") from None
    return value


def _validate(model: type[Part] | type[Manifest], name: str, value: Any, config: Mapping[str, Any]) -> Any:
    try:
        return model.model_validate(value, context=config)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        path = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in first["loc"]).lstrip(".")
        raise BadRequest(f"{name}: {path + ': ' if path else ''}{first['msg']}.", field="file") from None


def read_bundle(name: str, archive: zipfile.ZipFile,
                config: Mapping[str, Any]) -> tuple[BundleDocument, list[BundleSession]]:
    """The validated document and sessions of a bundle, or a clear 400 (413 for sizes)."""
    infos = {info.filename: info for info in archive.infolist() if not info.is_dir()}
    if len(infos) != len([i for i in archive.infolist() if not i.is_dir()]):
        raise BadRequest(f"{name} holds a file name twice.", field="file")
    budget = [int(config["MAX_UPLOAD_BYTES"]) * UNPACKED_FACTOR]
    if "manifest.json" not in infos:
        raise BadRequest(f"{name} is not a VICE AI bundle (no manifest.json).", field="file")
    raw = _read_json(archive, infos["manifest.json"], budget)
    if not isinstance(raw, dict) or raw.get("format") != FORMAT:
        raise BadRequest(f"{name} is not a VICE AI bundle (manifest.json names no format {FORMAT!r}).",
                         field="file")
    if raw.get("version") != VERSION:
        raise BadRequest(f"{name} is a bundle of format version {raw.get('version')!r}; this server reads "
                         f"version {VERSION}.", field="file")
    manifest = _validate(Manifest, "manifest.json", raw, config)
    expected = {"manifest.json", "document.json", *(f"sessions/{n}.json" for n in range(1, manifest.sessions + 1))}
    missing, unknown = sorted(expected - set(infos)), sorted(set(infos) - expected)
    if missing or unknown:
        what = f"missing: {', '.join(missing[:3])}" if missing else f"unexpected: {', '.join(unknown[:3])}"
        raise BadRequest(f"{name} does not hold the files its manifest names ({what}).", field="file")
    document = _validate(BundleDocument, "document.json", _read_json(archive, infos["document.json"], budget), config)
    sessions = []
    for n in range(1, manifest.sessions + 1):
        path = f"sessions/{n}.json"
        sessions.append(_validate(BundleSession, path, _read_json(archive, infos[path], budget), config))
    if sum(len(s.messages) for s in sessions) > MAX_MESSAGES:
        raise BadRequest(f"{name} holds more than {MAX_MESSAGES} messages.", field="file", limit=MAX_MESSAGES)
    if sum(len(s.history) for s in document.sections) > MAX_HISTORY:
        raise BadRequest(f"{name} holds more than {MAX_HISTORY} section versions.", field="file", limit=MAX_HISTORY)
    return document, sessions
