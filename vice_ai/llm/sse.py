"""Decoding a streamed Chat Completions body: server-sent events, then chunk JSON into our chunk types.

The openai client builds a typed model for every chunk, which costs several
times more than reading the chunk itself; with hundreds of concurrent streams
on a small machine that dominates the CPU (see docs/bench-stream.md). So the
backend asks the client for the raw streaming response and decodes it here.
"""
from __future__ import annotations

import codecs
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from .base import Chunk, TextDelta, ToolCallDelta

DONE = "[DONE]"


@dataclass
class ServerEvent:
    """One server-sent event: its `event:` name (often empty) and its joined `data:` lines."""

    event: str
    data: str


class EventParser:
    """Server-sent events from lines fed one at a time (a blank line ends an event); comments and other fields
    are skipped."""

    __slots__ = ("name", "data")

    def __init__(self) -> None:
        self.name, self.data = "", list[str]()

    def line(self, line: str) -> ServerEvent | None:
        """Take one line (without its line break); the event it ends, if any."""
        if not line:
            event = ServerEvent(self.name, "\n".join(self.data)) if self.data else None
            self.name, self.data = "", []
            return event
        if line.startswith(":"):
            return None  # a comment, e.g. a keep-alive
        field_name, _, value = line.partition(":")
        if value.startswith(" "):
            value = value[1:]
        if field_name == "data":
            self.data.append(value)
        elif field_name == "event":
            self.name = value
        return None

    def end(self) -> ServerEvent | None:
        """The event the stream's end cuts off (no blank line after it), if any."""
        return self.line("")


def events(lines: Iterable[str]) -> Iterator[ServerEvent]:
    """Group lines into events (see EventParser)."""
    parser = EventParser()
    for line in lines:
        event = parser.line(line)
        if event is not None:
            yield event
    last = parser.end()
    if last is not None:
        yield last


class LineSplitter:
    """Lines from a byte stream that arrives in arbitrary pieces (CR, LF or CRLF end a line; UTF-8)."""

    __slots__ = ("rest", "decoder")

    def __init__(self) -> None:
        self.rest = ""
        self.decoder = codecs.getincrementaldecoder("utf-8")("replace")

    def feed(self, data: bytes) -> list[str]:
        """The lines this piece completes."""
        text = self.rest + self.decoder.decode(data)
        held = "\r" if text.endswith("\r") else ""  # its LF may come in the next piece
        if held:
            text = text[:-1]
        if "\r" in text:
            text = text.replace("\r\n", "\n").replace("\r", "\n")
        lines = text.split("\n")
        self.rest = lines.pop() + held
        return lines

    def end(self) -> list[str]:
        """What is left once the stream has ended: its last line, if it had no line break."""
        rest = (self.rest + self.decoder.decode(b"", final=True)).rstrip("\r")
        self.rest = ""
        return [rest] if rest else []


class BadChunk(ValueError):
    """A chunk that is not JSON or not shaped like a chat completion chunk."""


class StreamError(Exception):
    """The server reported an error inside the stream."""

    def __init__(self, message: str, body: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.body = body


@dataclass
class Decoded:
    """What one chunk carries."""

    chunks: list[Chunk] = field(default_factory=list)
    finish_reason: str | None = None
    usage: dict[str, Any] | None = None


def decode(event: ServerEvent) -> Decoded:
    """One event's chunk as TextDelta / ToolCallDelta, its finish reason and usage; raises BadChunk or StreamError."""
    try:
        obj = json.loads(event.data)
    except ValueError as exc:
        raise BadChunk("not JSON") from exc
    if not isinstance(obj, dict):
        raise BadChunk("not an object")
    error = obj.get("error")
    if error or event.event == "error":
        message = error.get("message") if isinstance(error, dict) else error
        raise StreamError(message if isinstance(message, str) else "", error)
    try:
        return _decode_chunk(obj)
    except (TypeError, AttributeError, KeyError) as exc:
        raise BadChunk("unexpected shape") from exc


def _decode_chunk(obj: dict[str, Any]) -> Decoded:
    out = Decoded()
    usage = obj.get("usage")
    if isinstance(usage, dict):
        out.usage = usage
    for choice in obj.get("choices") or ():
        if choice.get("index", 0) not in (0, None):
            continue  # one choice is asked for
        delta = choice.get("delta") or {}
        content = delta.get("content")
        if content:
            if not isinstance(content, str):
                raise TypeError("content is not text")
            out.chunks.append(TextDelta(content))
        for call in delta.get("tool_calls") or ():
            function = call.get("function") or {}
            out.chunks.append(ToolCallDelta(
                index=call.get("index"), id=call.get("id"), name=function.get("name"),
                arguments=function.get("arguments") or "",
            ))
        if choice.get("finish_reason"):
            out.finish_reason = str(choice["finish_reason"])
    return out
