"""What every model backend speaks: a request in, a stream of chunks out."""
from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass
class ChatRequest:
    """One Chat Completions call: OpenAI-shaped messages and options."""

    model: str
    messages: list[dict[str, Any]]
    temperature: float | None = None
    max_tokens: int | None = None
    tools: list[dict[str, Any]] | None = None
    # What the offline assistant works from (the current section), not sent to servers.
    section_text: str = ""
    section_title: str = ""


@dataclass
class TextDelta:
    text: str


@dataclass
class ToolCallDelta:
    """A piece of a streamed tool call; `index` may be missing on some servers."""

    index: int | None
    id: str | None = None
    name: str | None = None
    arguments: str = ""


@dataclass
class Finish:
    reason: str | None = None
    usage: dict[str, Any] | None = field(default=None)


@dataclass
class Retrying:
    """The backend is waiting before it tries again (e.g. a 429 with Retry-After); nothing was sent yet."""

    seconds: float
    reason: str
    message: str


Chunk = TextDelta | ToolCallDelta | Finish | Retrying
# Where a reply's chunks go when they are pushed rather than pulled (see LLMService.deliver).
Sink = Callable[[Chunk], None]


class Backend(Protocol):
    """A model backend. `stream` stops promptly once `cancel` is set.

    A backend with `pushes = True` takes a third argument, a sink, and may pass the
    body's chunks to it from another thread instead of yielding them (the OpenAI
    backend's reactor); the others only yield.
    """

    offline: bool

    def models(self) -> list[str]: ...

    def stream(self, request: ChatRequest, cancel: threading.Event) -> Iterator[Chunk]: ...


class PushingBackend(Backend, Protocol):
    """A backend whose `stream` may pass the body's chunks to `sink` instead of yielding them."""

    pushes: bool

    def stream(self, request: ChatRequest, cancel: threading.Event, sink: Sink | None = None) -> Iterator[Chunk]: ...
