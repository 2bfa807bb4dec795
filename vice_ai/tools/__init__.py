"""Function calling: tools described by JSON schemas, run with hidden context the model never sees.

The model chooses a tool and its arguments; the app adds who is asking (the
session, its document and section) through `ToolContext`. A tool's schema
forbids extra properties, so a model that writes its own `session_id` gets an
error result, never another session's data.
"""
from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import jsonschema

if TYPE_CHECKING:
    from ..domain.state import AppState
    from ..streams.service import NotificationStreams

log = logging.getLogger(__name__)


class ToolError(Exception):
    """A tool refused or failed; its message goes back to the model as the result."""


@dataclass
class ToolContext:
    """What a tool may know about the caller: injected by the app, never chosen by the model."""

    session_id: str
    document_id: str
    section_id: str
    state: AppState
    streams: NotificationStreams | None = None  # the app's notification streams, for the stream tools
    message_id: str | None = None  # the assistant message that called the tool
    stream_id: str | None = None  # set inside a notification stream


@dataclass
class Tool:
    name: str
    description: str
    parameters: dict[str, Any]
    run: Callable[..., Any]

    def spec(self) -> dict[str, Any]:
        """The Chat Completions `tools=` entry."""
        return {"type": "function", "function": {
            "name": self.name, "description": self.description, "parameters": self.parameters}}


def schema(properties: dict[str, Any], required: tuple[str, ...] = ()) -> dict[str, Any]:
    """An object schema that allows no other properties."""
    return {"type": "object", "properties": properties, "required": list(required), "additionalProperties": False}


class ToolRegistry:
    """The tools a session may use, and their safe execution."""

    def __init__(self, tools: list[Tool]) -> None:
        self.tools = {t.name: t for t in tools}

    def select(self, names: list[str] | None = None) -> list[Tool]:
        """The tools named (all of them for None), in registry order."""
        return [t for t in self.tools.values() if names is None or t.name in names]

    def execute(self, name: str, raw_arguments: str, ctx: ToolContext, allowed: list[str]) -> tuple[str, bool]:
        """Run a tool call from the model; returns (result text for the model, ok)."""
        tool = self.tools.get(name)
        if tool is None or name not in allowed:
            return _error(f"Unknown tool {name!r}. Available: {', '.join(allowed) or 'none'}."), False
        try:
            args = json.loads(raw_arguments or "{}")
        except json.JSONDecodeError as exc:
            return _error(f"The arguments are not valid JSON ({exc.msg}). Send a JSON object."), False
        except RecursionError:
            return _error("The arguments are nested too deeply. Send a flat JSON object."), False
        try:
            jsonschema.validate(args, tool.parameters)
        except jsonschema.ValidationError as exc:
            return _error(f"Invalid arguments: {exc.message}."), False
        try:
            result = tool.run(ctx, **args)
        except ToolError as exc:
            return _error(str(exc)), False
        except Exception as exc:  # a failing tool must not break the round
            log.exception("tool %s failed", name)
            return _error(f"The tool failed: {type(exc).__name__}."), False
        return json.dumps(result, ensure_ascii=False, default=str), True


def _error(message: str) -> str:
    return json.dumps({"error": message})
