"""Putting streamed tool-call pieces back together.

Servers send a call's id and name first and its arguments in pieces. Most tag
each piece with `index`; some compatible servers do not, so a piece without an
index belongs to the call with its id, or else to the latest call.
"""
from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from ..domain.models import new_id
from ..llm.base import Chunk, Retrying, Sink, TextDelta, ToolCallDelta


class ToolCallAccumulator:
    """Collects ToolCallDelta pieces into complete OpenAI-format tool calls."""

    def __init__(self) -> None:
        self._calls: list[dict[str, str]] = []
        self._by_index: dict[int, dict[str, str]] = {}

    def add(self, delta: ToolCallDelta) -> None:
        call = self._target(delta)
        if delta.id:
            call["id"] = delta.id
        if delta.name:
            call["name"] = delta.name if not call["name"] else call["name"]
        call["arguments"] += delta.arguments or ""

    def _target(self, delta: ToolCallDelta) -> dict[str, str]:
        if delta.index is not None:
            call = self._by_index.get(delta.index)
            if call is None:
                call = self._by_index[delta.index] = self._new()
            return call
        if delta.id:
            known = next((c for c in self._calls if c["id"] == delta.id), None)
            return known or self._new()
        return self._calls[-1] if self._calls else self._new()

    def _new(self) -> dict[str, str]:
        call = {"id": "", "name": "", "arguments": ""}
        self._calls.append(call)
        return call

    def __bool__(self) -> bool:
        return bool(self._calls)

    def calls(self) -> list[dict[str, Any]]:
        """The calls in the wire format that goes back to the model next turn."""
        return [
            {"id": c["id"] or f"call_{new_id()[:12]}", "type": "function",
             "function": {"name": c["name"], "arguments": c["arguments"]}}
            for c in self._calls
        ]


def collect(deliver: Callable[[Sink], None], cancel: threading.Event,
            on_text: Callable[[str], None] | None = None,
            on_retry: Callable[[Retrying], None] | None = None) -> tuple[str, ToolCallAccumulator]:
    """Read one streamed model answer, delivered chunk by chunk to a sink: its text and its tool calls
    (nothing more once `cancel` is set). `deliver(sink)` runs the stream, e.g. `LLMService.deliver`."""
    parts: list[str] = []
    calls = ToolCallAccumulator()

    def take(chunk: Chunk) -> None:
        if cancel.is_set():
            return
        if isinstance(chunk, TextDelta) and chunk.text:
            parts.append(chunk.text)
            if on_text is not None:
                on_text(chunk.text)
        elif isinstance(chunk, ToolCallDelta):
            calls.add(chunk)
        elif isinstance(chunk, Retrying) and on_retry is not None:
            on_retry(chunk)

    deliver(take)
    return "".join(parts), calls
