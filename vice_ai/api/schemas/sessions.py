"""Declared inputs and answers of the chat-session routes (api/sessions.py, api/tools.py).

Limits here bound what a chat stores, so everything saved can be read back,
exported and counted: `variables` is at most 100 names, each value at most
`MAX_VARIABLE_DEPTH` levels deep, the whole at most `MAX_VARIABLES_BYTES` as
JSON; `context_documents` at most 20 {name, content}; `config` only the keys
the engine knows (tool names are checked against the registry by the service).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import Field, GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import PydanticCustomError, core_schema

from ...chat.branching import END, Parent
from ...domain.variables import (
    MAX_VARIABLE_DEPTH,
    MAX_VARIABLES,
    MAX_VARIABLES_BYTES,
    VARIABLE_NAME,
    size_of,
    valid_name,
    value_problem,
)
from ...tools.builtin import TOOL_NAMES
from ..declare import ConfigMaxLen, ErrorDetail, NotBlank, Schema
from .passages import References
from .resources import MessageOut, Out, SessionSummaryOut
from .review import ReviewedIn

MAX_CONTEXT_DOCUMENTS = 20
MAX_TOOLS = 50


# ---- reusable field types ----



@dataclass(frozen=True)
class BoundedVariables:
    """A chat's variables: named JSON values, bounded in count, names, depth and size."""

    max_keys: int = MAX_VARIABLES
    max_depth: int = MAX_VARIABLE_DEPTH
    max_bytes: int = MAX_VARIABLES_BYTES

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        return core_schema.no_info_after_validator_function(self._check, handler(source))

    def __get_pydantic_json_schema__(self, schema: core_schema.CoreSchema,
                                     handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        out = handler(schema)
        out.pop("additionalProperties", None)
        out.update({
            "maxProperties": self.max_keys,
            "propertyNames": {"pattern": VARIABLE_NAME},
            "description": (f"Named JSON values (at most {self.max_keys}); each value is nested at most "
                            f"{self.max_depth} levels deep, and the whole is at most {self.max_bytes} bytes as JSON."),
            "x-max-depth": self.max_depth,
            "x-max-bytes": self.max_bytes,
        })
        return out

    def _check(self, value: dict[str, Any]) -> dict[str, Any]:
        if len(value) > self.max_keys:
            raise PydanticCustomError("too_long", "Too many variables", {"max_length": self.max_keys})
        for name, item in value.items():
            if not valid_name(name):
                raise PydanticCustomError(
                    "variable_name", "{name} is not a valid name (a letter or _, then letters, digits or _; "
                    "at most 64 characters)", {"name": json.dumps(name[:80])})
            problem = value_problem(item, self.max_depth)
            if problem:
                raise PydanticCustomError("variable_value", "the value of {name} {problem}",
                                          {"name": json.dumps(name), "problem": problem})
        size = size_of(value)
        if size > self.max_bytes:
            raise PydanticCustomError("variables_too_large", "larger than {limit} bytes as JSON ({size})",
                                      {"limit": self.max_bytes, "size": size})
        return value



Title = Annotated[str, ConfigMaxLen("MAX_TITLE_CHARS", 300), NotBlank()]
ModelName = Annotated[str, Field(max_length=200), NotBlank()]
Temperature = Annotated[float, Field(ge=0, le=2)]
SystemPrompt = Annotated[str, Field(max_length=20_000)]
# The built-in tools by name (the service checks them against the running registry too).
ToolName = Annotated[str, Field(min_length=1, max_length=100, json_schema_extra={"enum": list(TOOL_NAMES)})]
Variables = Annotated[dict[str, Any], BoundedVariables()]
MessageId = Annotated[str, Field(max_length=100)]


# ---- request bodies ----

class NoBody(Schema):
    """No fields: send nothing, or `{}`."""


class CreateSessionIn(Schema):
    """A new chat on a section; `model` defaults to the preset's, then the user's preferred model, then the server's.

    A preset's settings are copied into the chat (fields given here win over them).
    """

    title: Title | None = None
    model: ModelName | None = None
    system_prompt: SystemPrompt | None = None
    temperature: Temperature | None = None
    preset_id: Annotated[str, Field(max_length=100, description=(
        "Start from this preset (built-in, yours, or shared with this document); 404 for any other."))] | None = None

    def config(self) -> dict[str, Any]:
        return self.model_dump(include={"model", "system_prompt", "temperature"}, exclude_none=True)


class SessionConfigIn(Schema):
    """A chat's settings; merged into the current ones (a missing key keeps its value, a null clears it)."""

    model: ModelName | None = None
    temperature: Temperature | None = None
    system_prompt: SystemPrompt | None = None
    tools: Annotated[list[ToolName], Field(max_length=MAX_TOOLS,
                                           description="Built-in tools the chat may use; [] for none.")] | None = None


class ContextDocumentIn(Schema):
    name: Annotated[str, Field(max_length=200), NotBlank()]
    content: Annotated[str, ConfigMaxLen("MAX_SECTION_CHARS", 500_000)]


class UpdateSessionIn(Schema):
    """What to change; a null or missing field stays as it is."""

    title: Title | None = None
    config: SessionConfigIn | None = None
    variables: Variables | None = None
    context_documents: Annotated[list[ContextDocumentIn], Field(max_length=MAX_CONTEXT_DOCUMENTS)] | None = None
    archived: bool | None = None
    active_leaf: MessageId | None = Field(None, description="A message of the chat whose branch becomes the active "
                                          "one; one that is not a leaf selects its newest descendant.")


PARENT_HELP = ("The message the new one follows: omitted, the end of the active branch; the reply before an earlier "
               "user message, to edit and resend it as a new branch; null, a new first message.")


class MessagePlace(Schema):
    """Where a new message goes in the tree and what it is about: shared by the HTTP send and the websocket's."""

    parent_id: MessageId | None = Field(None, description=PARENT_HELP)
    references: References = []

    def parent(self) -> Parent:
        """`parent_id` as the engine takes it (END when it was not given, None when it was null)."""
        return self.parent_id if "parent_id" in self.model_fields_set else END

    def reference_dicts(self) -> list[dict[str, Any]]:
        return [r.model_dump() for r in self.references]


class SendMessageIn(MessagePlace):
    content: Annotated[str, ConfigMaxLen("MAX_MESSAGE_CHARS", 100_000), NotBlank()]


class RegenerateIn(Schema):
    message_id: MessageId | None = Field(None, description="The assistant reply to answer again, as a new reply "
                                         "beside it; omitted or null: the active branch's last reply.")


class ApplyIn(ReviewedIn):
    """A reply to write into the section; with `content` and `version`, the text a review made of it."""

    message_id: Annotated[str, Field(max_length=100)]
    mode: Literal["replace", "append", "passage"] = Field(description=(
        "replace: the whole section text; append: after it; passage: only the passage the reply is about "
        "(a reply to a message with a selection), located again if the section changed since, else 409 "
        "passage_moved"))


class AcceptSuggestionIn(ReviewedIn):
    force: bool = Field(False, description="Replace the section even if it changed since the proposal.")


class ListSessionsQuery(Schema):
    archived: bool = Field(False, description="Include archived chats.")


PageAnchor = Annotated[str, Field(min_length=1, max_length=100)]


class SessionPageQuery(Schema):
    """A page of a chat: the newest `limit` messages of a branch (before `before`), oldest first."""

    limit: int = Field(50, ge=1, le=200, description="Messages per page (1-200)")
    before: PageAnchor | None = Field(None, description="The page ends just before this message (its nearest "
                                     "ancestors); 404 when the chat has no such message")
    leaf: PageAnchor | None = Field(None, description="Show the branch through this message (to its newest "
                                   "descendant) instead of the active one; nothing is stored")


# ---- answers ----

class SessionsOut(Out):
    sessions: list[SessionSummaryOut]


class DeletedOut(Out):
    deleted: str


class RoundOut(Out):
    """The user's message and the reply to it."""

    user_message: MessageOut
    assistant_message: MessageOut | None


class RoundErrorDetail(ErrorDetail):
    retryable: bool
    reason: str
    user_message: MessageOut
    assistant_message: MessageOut | None


class RoundErrorOut(Out):
    """The model failed: the error, with the stored user message and what was kept of the reply."""

    error: RoundErrorDetail


class StoppedOut(Out):
    stopped: bool


class StreamOut(Out):
    id: str
    goal: str
    interval_seconds: float
    status: Literal["running", "stopped"]
    running: bool
    created_at: str
    expires_at: str
    notifications: int
    last_notification: dict[str, Any] | None
    stopped_reason: str | None


class StreamsOut(Out):
    streams: list[StreamOut]


class StreamStoppedOut(Out):
    stopped: str


class SuggestionOut(Out):
    id: str
    section_id: str
    message_id: str | None
    new_content: str
    summary: str
    base_version: int
    status: Literal["pending", "accepted", "rejected"]
    created_at: str
    decided_at: str | None = None


class SuggestionsOut(Out):
    suggestions: list[SuggestionOut]


class RejectedOut(Out):
    rejected: str
