"""Declared inputs and answers of the preset routes (api/presets.py).

The bounds are a chat's own (schemas/sessions.py): a preset's settings are
copied into a chat's config, so they must be settings a chat accepts.
"""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from ..declare import NotBlank, Schema
from .resources import Out
from .sessions import MAX_TOOLS, ModelName, SystemPrompt, Temperature, ToolName

MAX_SHARED_DOCUMENTS = 100

PresetName = Annotated[str, Field(max_length=100), NotBlank()]
Tools = Annotated[list[ToolName], Field(max_length=MAX_TOOLS,
                                        description="Built-in tools a chat from this preset may use; [] for none, "
                                                    "null for the chat's default (all).")]
DocumentIds = Annotated[list[Annotated[str, Field(max_length=100)]], Field(
    max_length=MAX_SHARED_DOCUMENTS,
    description="Documents you own whose readers see this preset (and whose editors may start chats with it).")]


class CreatePresetIn(Schema):
    """A new preset of yours."""

    name: PresetName
    system_prompt: SystemPrompt = ""
    model: ModelName | None = None
    temperature: Temperature | None = None
    tools: Tools | None = None
    shared_documents: DocumentIds = []


class UpdatePresetIn(Schema):
    """What to change; a missing field stays. null clears `model`, `temperature` and `tools` (and keeps the others)."""

    name: PresetName | None = None
    system_prompt: SystemPrompt | None = None
    model: ModelName | None = None
    temperature: Temperature | None = None
    tools: Tools | None = None
    shared_documents: DocumentIds | None = None


class ListPresetsQuery(Schema):
    document_id: Annotated[str, Field(max_length=100, description=(
        "Also list the presets this document's owner shared with it (404 if you cannot read it)."))] | None = None


class PresetOut(Out):
    id: str
    name: str
    system_prompt: str
    model: str | None
    temperature: float | None
    tools: list[str] | None
    kind: Literal["builtin", "own", "shared"]
    editable: bool
    shared_documents: list[str]
    shared_by: str | None
    created_at: str | None
    updated_at: str | None


class ToolInfoOut(Out):
    name: str
    description: str


class PresetsOut(Out):
    """The presets, and the built-in tools a preset or a chat may name (for the pages' checkboxes)."""

    presets: list[PresetOut]
    tools: list[ToolInfoOut]


class PresetDeletedOut(Out):
    deleted: str
