"""Chat Completions over the `openai` package, for any OpenAI-compatible server.

Everything the openai/httpx2 stack can raise is translated here into
`ModelError` with a plain-language message, a `reason` and whether retrying may
help; the rest of the app never sees an openai exception. The API key never
appears in a message: server-supplied texts are scrubbed before use.

The client sends the request and raises HTTP errors; the streamed body is read
as raw lines and decoded by `sse` (several times cheaper than the client's
typed chunks, which matters with many streams at once).

Timeouts: `CONNECT_TIMEOUT` to open the connection, `IDLE_TIMEOUT` for any
silence of the server (before the first byte and between chunks, so a stalled
stream fails), `REQUEST_TIMEOUT` for plain requests such as the model list.
A failure before any of the reply was passed on is retried (`retry.py`); a
malformed chunk or a stream that ends without a finish reason (or `[DONE]`) is
a failure like a dropped connection, never a finished reply.
"""
from __future__ import annotations

import re
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

import httpx2
import openai
from openai._constants import RAW_RESPONSE_HEADER  # what with_streaming_response sends

from ..errors import ModelError
from . import cutting, reactor, sse
from .base import ChatRequest, Chunk, Finish, Retrying, Sink
from .retry import RetryPlan, retry_after, seconds

# Local servers (Ollama, llama.cpp...) need no key, but the client insists on one.
PLACEHOLDER_KEY = "unused"
_KEYLIKE = re.compile(r"\bsk-[A-Za-z0-9_\-*.]{6,}")
_MAX_SERVER_TEXT = 300


class OpenAIBackend:
    """A backend that streams from an OpenAI-compatible server."""

    offline = False
    pushes = True  # stream() takes a sink: the reactor passes the body's chunks to it

    def __init__(self, *, api_key: str | None = None, base_url: str | None = None, connect_timeout: float = 10.0,
                 idle_timeout: float = 30.0, request_timeout: float = 60.0, max_retry_after: float = 20.0) -> None:
        self._key = api_key or ""
        self.idle_timeout = idle_timeout
        self.connect_timeout = connect_timeout
        self.request_timeout = request_timeout
        self.max_retry_after = max_retry_after
        self.where = _describe_server(base_url)
        self._stream_timeout = httpx2.Timeout(connect=connect_timeout, read=idle_timeout,
                                              write=request_timeout, pool=connect_timeout)
        self._http = httpx2.Client(
            event_hooks={"request": [cutting.attach_trace]},
            # One fresh connection per request: its socket is known from the
            # moment it opens, so a stop can cut it at once, even before the
            # first byte. Streamed replies rarely leave a reusable connection anyway.
            limits=httpx2.Limits(max_keepalive_connections=0),
        )
        self._client = openai.OpenAI(
            api_key=api_key or PLACEHOLDER_KEY,
            base_url=base_url or None,
            max_retries=0,  # retries are ours (retry.py), only before any text was passed on
            timeout=self._stream_timeout,
            http_client=self._http,
        )

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> OpenAIBackend:
        """Build the backend from the app config (OPENAI_* and the timeouts)."""
        return cls(
            api_key=config.get("OPENAI_API_KEY"),
            base_url=config.get("OPENAI_BASE_URL"),
            connect_timeout=float(config["CONNECT_TIMEOUT"]),
            idle_timeout=float(config["IDLE_TIMEOUT"]),
            request_timeout=float(config["REQUEST_TIMEOUT"]),
            max_retry_after=float(config["MAX_RETRY_AFTER"]),
        )

    def close(self) -> None:
        """Release the HTTP client's connections."""
        self._http.close()

    # -- models -------------------------------------------------------------------------
    def models(self) -> list[str]:
        """The model ids the server lists under /models."""
        try:
            page = self._client.with_options(timeout=self.request_timeout).models.list()
            return [m.id for m in page.data if getattr(m, "id", None)]
        except (openai.OpenAIError, ValueError, TypeError) as exc:
            raise self._translate(exc, model=None, started=False) from exc

    # -- chat -------------------------------------------------------------------------
    def stream(self, request: ChatRequest, cancel: threading.Event, sink: Sink | None = None) -> Iterator[Chunk]:
        """Stream a reply as TextDelta / ToolCallDelta / Finish; a set `cancel` cuts the connection.

        A failure before any text or tool call was yielded is retried as `retry.RetryPlan`
        says, announced by a `Retrying` chunk; once something was yielded it is raised.
        With a `sink`, the body's chunks may instead be passed to it by the reactor's thread
        (`reactor.py`) while this generator waits; what it yields still goes to the sink too.
        """
        params = self._params(request)
        watch = cutting.Watch(cancel)
        cutting.WATCHER.add(watch)
        plan = RetryPlan(self.max_retry_after, self.request_timeout)
        try:
            while not cancel.is_set():
                progress = _Progress()
                try:
                    yield from self._attempt(params, request.model, watch, cancel, progress, sink)
                    return
                except ModelError as err:
                    if cancel.is_set():
                        return
                    if progress.shown:
                        raise
                    cause = err.__cause__
                    asked = retry_after(cause.response.headers) if isinstance(cause, openai.APIStatusError) else None
                    delay = plan.wait_for(err, asked)
                    if delay is None:
                        final = plan.final_error(err)
                        if final is err:
                            raise
                        raise final from err
                    yield Retrying(delay, err.reason, plan.notice(err, delay))
                    if cancel.wait(delay):
                        return
        finally:
            cutting.WATCHER.remove(watch)

    def _attempt(self, params: dict[str, Any], model: str, watch: cutting.Watch, cancel: threading.Event,
                 progress: _Progress, sink: Sink | None) -> Iterator[Chunk]:
        """One request and its stream; every failure is a ModelError (its cause the original error)."""
        try:
            response = self._create(params, watch)
        except (openai.OpenAIError, ValueError, TypeError) as exc:
            if cancel.is_set():
                return
            raise self._translate(exc, model=model, started=False) from exc
        connection = reactor.detach(response) if sink is not None else None
        if sink is not None and connection is not None:
            yield from self._push(response, connection, model, cancel, _Reader(progress), sink)
        else:
            yield from self._read(response, model, cancel, _Reader(progress))

    def _params(self, request: ChatRequest) -> dict[str, Any]:
        # section_text/section_title are for the offline assistant only.
        params: dict[str, Any] = {"model": request.model, "messages": request.messages, "stream": True}
        if request.temperature is not None:
            params["temperature"] = request.temperature
        if request.max_tokens:
            params["max_tokens"] = request.max_tokens  # the name every compatible server knows
        if request.tools:
            params["tools"] = request.tools
        return params

    def _create(self, params: dict[str, Any], watch: cutting.Watch) -> httpx2.Response:
        """Send the request; the response with its body unread (HTTP errors are raised by the client).

        Through the client's generic `post` (its documented way to send any request), not
        `chat.completions.create`: that one walks every message through its typed-parameter
        transform first, 5 ms of CPU per request with a long chat against 0.9 ms, and the
        params here are already in wire format.
        """
        with cutting.watching(watch):
            return self._client.post("/chat/completions", cast_to=httpx2.Response, body=params,
                                     options={"headers": {RAW_RESPONSE_HEADER: "stream"}})

    def _read(self, response: httpx2.Response, model: str, cancel: threading.Event, reader: _Reader) -> Iterator[Chunk]:
        """The stream's chunks, read in this thread."""
        with self._body(response, model, cancel, reader):
            for event in sse.events(response.iter_lines()):
                if cancel.is_set():
                    return
                chunks = reader.take(event)
                if chunks is None:
                    break
                yield from chunks
        if not cancel.is_set():
            yield reader.end()

    def _push(self, response: httpx2.Response, connection: tuple[Any, Any], model: str, cancel: threading.Event,
              reader: _Reader, sink: Sink) -> Iterator[Chunk]:
        """The stream's chunks, passed to `sink` by the reactor's thread while this one waits; then its Finish."""

        def on_event(event: sse.ServerEvent) -> bool:
            chunks = reader.take(event)
            if chunks is None:
                return True
            for chunk in chunks:
                if cancel.is_set():
                    return True
                sink(chunk)
            return cancel.is_set()

        with self._body(response, model, cancel, reader):
            reactor.REACTOR.read(reactor.Body(*connection, on_event, self.idle_timeout))
        if not cancel.is_set():
            yield reader.end()

    @contextmanager
    def _body(self, response: httpx2.Response, model: str, cancel: threading.Event,
              reader: _Reader) -> Iterator[None]:
        """Reading a response's body: closed at the end; a failure is told as a ModelError (nothing once stopped)."""
        try:
            yield
        except (httpx2.HTTPError, openai.OpenAIError, sse.BadChunk, sse.StreamError) as exc:
            if not cancel.is_set():
                raise self._translate(exc, model=model, started=True, shown=reader.progress.shown) from exc
        finally:
            response.close()

    # -- errors -------------------------------------------------------------------------
    def _translate(self, exc: BaseException, *, model: str | None, started: bool, shown: bool = False) -> ModelError:
        """One openai/httpx2/parsing error as a ModelError a user can act on.

        `started`: the response had begun (its headers came); `shown`: some of the reply was passed on.
        """
        where = "; the reply was cut off there" if shown else " before the reply started"
        if isinstance(exc, sse.StreamError):
            detail = self._scrub(exc.message)
            return ModelError(f"The model server reported an error: {detail}" if detail else
                              "The model server reported an error.", reason="server_error")
        if isinstance(exc, sse.BadChunk):
            return ModelError(f"The model server sent something that is not a valid reply chunk{where}.",
                              reason="bad_stream")
        if started and isinstance(exc, (httpx2.TimeoutException, openai.APITimeoutError)):
            return ModelError(f"The model server stopped sending for {seconds(self.idle_timeout)}{where}.",
                              reason="stalled")
        if started and isinstance(exc, (httpx2.TransportError, openai.APIConnectionError)):
            return ModelError("The connection to the model server was lost " +
                              ("in the middle of the reply." if shown else "before the reply started."),
                              reason="connection")
        if isinstance(exc, openai.APITimeoutError):
            if _caused_by(exc, httpx2.ConnectTimeout):
                return ModelError(f"Could not connect to the model server at {self.where} within "
                                  f"{seconds(self.connect_timeout)}.", reason="timeout")
            return ModelError(f"The model server at {self.where} did not answer within "
                              f"{seconds(self.idle_timeout)}.", reason="timeout")
        if isinstance(exc, openai.APIConnectionError):
            return ModelError(f"Could not reach the model server at {self.where}. Is it running?",
                              reason="connection")
        if isinstance(exc, openai.APIStatusError):
            return self._status_error(exc, model)
        if isinstance(exc, openai.APIError):  # an {"error": ...} chunk inside the stream
            detail = self._scrub(exc.message)
            return ModelError(f"The model server reported an error: {detail}" if detail else
                              "The model server reported an error.", reason="server_error")
        if isinstance(exc, (ValueError, TypeError, AttributeError)):
            return ModelError("The model server sent something that is not a valid reply chunk.",
                              reason="bad_stream")
        return ModelError("The model server request failed.", reason="model_error")

    def _status_error(self, exc: openai.APIStatusError, model: str | None) -> ModelError:
        status = exc.status_code
        detail = self._scrub(_server_message(exc))
        said = f" It said: {detail}" if detail else ""
        if status in (401, 403):
            # The server's own text can quote part of the key: never pass it on.
            return ModelError(f"The model server refused the credentials ({status}). "
                              "Check OPENAI_API_KEY.", reason="auth", retryable=False, status_code=status)
        if status == 404:
            what = f"the model \u201c{model}\u201d" if model else "that address"
            return ModelError(f"The model server does not know {what} (404). Pick another model, "
                              "or check OPENAI_BASE_URL.", reason="model_not_found", retryable=False,
                              status_code=status)
        if status == 429:
            return ModelError("The model server is rate-limiting requests (429).", reason="rate_limited",
                              status_code=status)
        if status == 408:
            return ModelError(f"The model server gave up waiting for the request (408).{said}", reason="timeout",
                              status_code=status)
        if status in (400, 413, 422):
            return ModelError(f"The model server rejected the request ({status}).{said}",
                              reason="bad_request", retryable=False, status_code=status)
        if status == 409:
            return ModelError(f"The model server answered 409 (conflict). Try again in a moment.{said}",
                              reason="server_error", status_code=status)
        if status >= 500:
            return ModelError(f"The model server failed ({status}). Try again in a moment.{said}",
                              reason="server_error", status_code=status)
        return ModelError(f"The model server answered {status}.{said}", reason="server_error",
                          retryable=False, status_code=status)

    def _scrub(self, text: str | None) -> str:
        """A server-supplied text, shortened, with anything key-like removed."""
        if not text:
            return ""
        if self._key:
            text = text.replace(self._key, "[redacted]")
        text = _KEYLIKE.sub("[redacted]", text)
        return text if len(text) <= _MAX_SERVER_TEXT else text[:_MAX_SERVER_TEXT] + "\u2026"


# -- helpers --------------------------------------------------------------------------------

def _server_message(exc: openai.APIStatusError) -> str:
    body = exc.body
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and isinstance(inner.get("message"), str):
            return inner["message"]
        if isinstance(inner, str):
            return inner
    return ""


def _caused_by(exc: BaseException, kind: type[BaseException]) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, kind):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _describe_server(base_url: str | None) -> str:
    """Scheme, host and port only: a URL may carry credentials."""
    if not base_url:
        return "api.openai.com"
    parts = urlsplit(base_url)
    host = parts.hostname or "?"
    return f"{parts.scheme}://{host}" + (f":{parts.port}" if parts.port else "")


# -- one attempt ------------------------------------------------------------------------------

class _Progress:
    """Whether an attempt has passed any of the reply on (after that it is never retried)."""

    __slots__ = ("shown",)

    def __init__(self) -> None:
        self.shown = False


class _Reader:
    """What one attempt's stream carried, event by event, and whether it ended as a finished reply."""

    __slots__ = ("progress", "finish", "usage", "done")

    def __init__(self, progress: _Progress) -> None:
        self.progress = progress
        self.finish: str | None = None
        self.usage: dict[str, Any] | None = None
        self.done = False

    def take(self, event: sse.ServerEvent) -> list[Chunk] | None:
        """The event's chunks; None once the stream is over. Raises sse.BadChunk / sse.StreamError."""
        if event.data == sse.DONE:
            self.done = True
            return None
        try:
            decoded = sse.decode(event)
        except sse.BadChunk:
            if self.finish is not None:
                return None  # the reply is whole: only a trailer (usage) was broken
            raise
        self.finish = decoded.finish_reason or self.finish
        self.usage = decoded.usage or self.usage
        if decoded.chunks:
            self.progress.shown = True
        return decoded.chunks

    def end(self) -> Finish:
        """The stream's Finish; a stream that ended without a finish reason (or [DONE]) is an error."""
        if self.finish is None and not self.done:
            if self.progress.shown:
                message = "The model server ended the stream before the reply was finished; what arrived is kept."
            else:
                message = "The model server ended the stream before the reply started."
            raise ModelError(message, reason="truncated", retryable=True)
        return Finish(self.finish, self.usage)
