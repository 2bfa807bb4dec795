"""The chat engine: one round = persist the user message, generate in a worker thread, persist the reply.

Both doors use it: `POST /api/sessions/<id>/messages` waits for the round, the
websocket streams its events. Events go to the hub (every tab on the session)
and to an optional per-call handler.
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from ..coordination.leases import Leases, ProcessLeases
from ..domain import passages
from ..domain.models import ChatSession, Document, Message, Section
from ..domain.state import AppState
from ..errors import BadRequest, Busy, ModelError, NotFound, StorageError
from ..housekeeping.redaction import redact, redact_message
from ..live.hub import Hub
from ..llm import LLMService
from ..llm.base import ChatRequest, Retrying
from ..llm.reactor import REACTOR
from ..tools import ToolContext, ToolRegistry
from ..tools.calls import ToolCallAccumulator, collect
from . import branching, recovery
from .branching import END, Parent
from .context import build_messages
from .gate import Gate
from .render import message_view
from .rounds import EventHandler, Round, mark_failed
from .streaming import ReplyStream
from .toolloop import run_tool_loop

if TYPE_CHECKING:
    from ..files.service import FileService
    from ..streams.service import NotificationStreams

log = logging.getLogger(__name__)

BUSY = "A reply is already being generated in this chat. Stop it or wait for it to finish."
# What the model is told (after its own cut-off reply) when the user asks it to continue.
CONTINUE_PROMPT = ("Your previous reply was cut off. Continue it exactly where it stopped: do not repeat "
                   "anything already written and add no preamble.")


class ChatEngine:
    """Runs generations in worker threads, one at a time per session in all processes (under its lease)."""

    def __init__(self, state: AppState, llm: LLMService, hub: Hub, tools: ToolRegistry,
                 streams: NotificationStreams, cfg: Mapping[str, Any], files: FileService | None = None,
                 leases: Leases | None = None) -> None:
        self._rounds: dict[str, Round] = {}
        self._lock = threading.Lock()
        self._closed = False
        self.state, self.llm, self.hub, self.tools, self.streams = state, llm, hub, tools, streams
        self.max_tool_rounds = cfg["MAX_TOOL_ROUNDS"]
        self.max_message_chars = cfg["MAX_MESSAGE_CHARS"]
        self.context_tokens = cfg["CONTEXT_TOKENS"]
        self.max_reply_tokens = cfg["MAX_REPLY_TOKENS"]
        self.files = files
        self.leases = leases if leases is not None else ProcessLeases()
        self.gate = Gate(behind=lambda: REACTOR.lag.behind() or self.hub.behind())  # see gate.py

    # -- public API -------------------------------------------------------------------
    def send_message(self, session_id: str, content: Any, handler: EventHandler | None = None,
                     parent: Parent = END, references: list[dict[str, Any]] | None = None) -> Round:
        """Persist the user's message (the acknowledgement) and start the reply in a worker thread.

        `parent`: the message it follows (END: the end of the active branch; another one: a new branch).
        """
        if not isinstance(content, str) or not content.strip():
            raise BadRequest("The message is empty.", field="content")
        if len(content) > self.max_message_chars:
            raise BadRequest(f"The message is longer than {self.max_message_chars} characters.", field="content")
        return self._start(session_id, handler, lambda s, r: self._persist_user_turn(s, content, parent, r, references))

    def regenerate(self, session_id: str, handler: EventHandler | None = None, message_id: str | None = None) -> Round:
        """A new reply, beside `message_id` (default: the active branch's last reply), to the same question."""
        return self._start(session_id, handler, lambda s, rnd: self._reanswer(s, message_id, rnd), regenerate=True)

    def continue_reply(self, session_id: str, handler: EventHandler | None = None) -> Round:
        """Ask the model to go on from an interrupted reply (the active branch's last message), appending to it."""
        return self._start(session_id, handler, self._continuation, continuing=True)

    def stop(self, session_id: str) -> bool:
        """Stop the session's running generation, here or (with Redis) where it runs; True if there was one."""
        with self._lock:
            rnd = self._rounds.get(session_id)
        if rnd is None:
            return self.hub.stop_elsewhere(session_id)
        rnd.cancel.set()
        return True

    def _streaming(self) -> int:
        """How many replies are being generated now (a dict's length needs no lock)."""
        return len(self._rounds)

    def running(self, session_id: str) -> Round | None:
        with self._lock:
            return self._rounds.get(session_id)

    def generating(self, session_id: str) -> bool:
        """Whether a reply is being generated in the chat, here or (with Redis) in any process (its lease)."""
        return self.running(session_id) is not None or self.leases.held_anywhere("session", session_id)

    def shutdown(self, timeout: float = 5.0) -> None:
        """Stop every generation and wait for the workers (each saves its partial reply)."""
        with self._lock:
            self._closed = True
            rounds = list(self._rounds.values())
        for rnd in rounds:
            rnd.restarting = True
            rnd.cancel.set()
        deadline = time.monotonic() + timeout
        for rnd in rounds:
            if rnd.thread is not None:
                rnd.thread.join(max(0.0, deadline - time.monotonic()))

    def recover(self, session_id: str) -> int:
        """Mark replies a dead process left 'streaming' interrupted (kept, never dropped); returns how many.

        Only under the chat's lease: never a reply a live process (this one or another) is writing.
        """
        if self.running(session_id):
            return 0
        return recovery.recover(self.state, self.hub, self.leases, session_id)

    def sweep(self) -> int:
        """Recover the chats whose generating process died holding their lease (Redis: found by expiry)."""
        return recovery.sweep(self.state, self.hub, self.leases)

    # -- a round ----------------------------------------------------------------------
    def _start(self, session_id: str, handler: EventHandler | None,
               prepare: Callable[[ChatSession, Round], Round], continuing: bool = False,
               regenerate: bool = False) -> Round:
        with self.gate.held():
            return self._begin(session_id, handler, prepare, continuing, regenerate)

    def _begin(self, session_id: str, handler: EventHandler | None,
               prepare: Callable[[ChatSession, Round], Round], continuing: bool, regenerate: bool) -> Round:
        session = self.state.get_chat_session(session_id)
        if session is None:
            raise NotFound("Chat session not found.")
        with self._lock:
            if self._closed:
                raise Busy("The server is shutting down.")
            if session_id in self._rounds:
                raise Busy(BUSY)
            placeholder = Round(session_id, session.document_id, Message(role="user", content=""))
            self._rounds[session_id] = placeholder
        try:
            # One generation per chat in all processes: the lease, held until the round's last write.
            placeholder.lease = recovery.take_lease(self.leases, session_id)  # after a recovery under way
            if placeholder.lease is None:
                raise Busy(BUSY)
            placeholder.lease.on_lost(placeholder.cancel.set)
            session = self.state.get_chat_session(session_id) or session  # as it is now that we hold the lease
            if any(m.status == "streaming" for m in session.messages):
                recovery.mark_interrupted(self.state, self.hub, session_id)  # a dead process's; ours now
                session = self.state.get_chat_session(session_id) or session  # read again only after that write
            rnd = prepare(session, placeholder)
        except BaseException:
            if placeholder.lease is not None:
                placeholder.lease.release()
            with self._lock:
                self._rounds.pop(session_id, None)
            raise
        emit = self._emitter(rnd, handler)
        if not continuing:
            emit({"type": "user_message", "message": message_view(rnd.user_message), "regenerate": regenerate,
                  "title": rnd.title})
        rnd.thread = threading.Thread(target=self._run, args=(rnd, emit, continuing), name=f"chat-{session_id[:8]}",
                                      daemon=True)
        rnd.thread.start()
        return rnd

    def _persist_user_turn(self, session: ChatSession, content: str, parent: Parent, rnd: Round,
                           references: list[dict[str, Any]] | None) -> Round:
        _, section = self._section_of(session)
        parent_id, new_branch = branching.parent_for_message(session, parent)
        message = Message(role="user", content=content, parent_id=parent_id, section_version=section.version,
                          references=passages.check_references(section, references or []))
        changes: dict[str, Any] = {"active_leaf": message.id} if new_branch else {}
        if branching.names_the_chat(session):  # a chat started without a title is named by its first message
            rnd.title = changes["title"] = branching.title_from(redact(content))
        self._save(session.id, message, changes)
        rnd.user_message = message
        return rnd

    def _reanswer(self, session: ChatSession, message_id: str | None, rnd: Round) -> Round:
        """A round that answers an existing question again, as a new reply beside the old ones."""
        self._section_of(session)
        rnd.user_message, rnd.new_branch = branching.question_to_answer_again(session, message_id)
        return rnd

    def _continuation(self, session: ChatSession, rnd: Round) -> Round:
        """A round that goes on with the active branch's last message, an interrupted reply (a copy the round owns)."""
        self._section_of(session)
        last, question = branching.reply_to_continue(session)
        rnd.user_message, rnd.assistant_message = question, replace(last)
        return rnd

    def _save(self, session_id: str, message: Message, changes: dict[str, Any] | None = None) -> None:
        """Persist a message with secrets redacted (and `changes` to the chat, in the same write); only the live
        deltas ever carry the original."""
        stored = redact_message(message)
        rnd = self._rounds.get(session_id)  # its lease fences the write (Redis)
        recovery.fenced_append(self.state, rnd.lease if rnd is not None else None, session_id, stored, changes)
        if message.status != "streaming":  # a streaming reply is rebuilt from its deltas
            message.content, message.tool_calls = stored.content, stored.tool_calls

    def _section_of(self, session: ChatSession) -> tuple[Document, Section]:
        doc = self.state.get_document(session.document_id)
        section = doc.section(session.section_id) if doc else None
        if doc is None or section is None:
            raise NotFound("The section of this chat no longer exists.")
        return doc, section

    def _emitter(self, rnd: Round, handler: EventHandler | None) -> EventHandler:
        def emit(event: dict[str, Any]) -> None:
            published = self.hub.publish(rnd.session_id, rnd.document_id, event)
            if handler is not None:
                try:
                    handler(published)
                except Exception:  # a broken listener must not break the round
                    log.exception("event handler failed")

        return emit

    def _run(self, rnd: Round, emit: EventHandler, continuing: bool = False) -> None:
        with self.gate.held():
            self._round(rnd, emit, continuing)

    def _round(self, rnd: Round, emit: EventHandler, continuing: bool) -> None:
        try:
            if continuing:
                self._continue(rnd, emit)
            else:
                self._generate(rnd, emit)
        except (ModelError, StorageError) as exc:
            # A storage error is told as itself (disk full, read-only, folder gone), never as the model's.
            rnd.error = exc
            mark_failed(rnd.assistant_message, exc.reason, exc.message, exc.retryable)
        except NotFound as exc:
            rnd.error = ModelError(exc.message, retryable=False, reason="not_found")
        except Exception:
            log.exception("generation failed in session %s", rnd.session_id)
            rnd.error = ModelError("The reply failed because of an error in the server; it has been logged.",
                                   reason="internal")
            mark_failed(rnd.assistant_message, "internal", rnd.error.message, True)
        finally:
            self._finish(rnd, rnd.assistant_message, emit)

    def _generate(self, rnd: Round, emit: EventHandler) -> None:
        """The reply's rounds: each a streamed model answer, then its tool calls if it made any."""
        session = self.state.get_chat_session(rnd.session_id)
        if session is None:
            raise NotFound("Chat session not found.")
        doc, section = self._section_of(session)
        model, note = self.llm.resolve(session.config.get("model"))
        messages, receipt = build_messages(doc, section, session, self.context_tokens, upto=rnd.user_message.id,
                                           **(self.files.context(session) if self.files else {}))
        receipt["model"] = model
        if note:
            receipt["notice"] = note
        temperature = session.config.get("temperature")
        ctx = ToolContext(session.id, doc.id, section.id, self.state, streams=self.streams)
        parent = rnd.user_message.id

        def ask(step: int, offer: list[str]) -> tuple[str, list[dict[str, Any]]]:
            reply = Message(role="assistant", content="", parent_id=parent, status="streaming", model=model,
                            section_version=section.version, receipt=receipt, notice=self.llm.notice,
                            references=[*rnd.user_message.references])
            rnd.assistant_message = reply
            # A reply asked for again is a new branch: it becomes the active one with its first write.
            self._save(rnd.session_id, reply, {"active_leaf": reply.id} if rnd.new_branch and step == 0 else None)
            emit({"type": "round_start", "message": message_view(reply), "step": step, "continued": False})
            request = ChatRequest(
                model=model,
                messages=messages,
                temperature=temperature if isinstance(temperature, (int, float)) else None,
                max_tokens=self.max_reply_tokens,
                tools=[t.spec() for t in self.tools.select(offer)] or None,
                section_text=section.content,
                section_title=section.title,
            )
            calls = self._stream(rnd, reply, request, emit)
            return reply.content, calls.calls()

        def on_calls(_text: str, wire: list[dict[str, Any]]) -> str:
            """Save the tool-calling answer before its calls run."""
            nonlocal parent
            reply = rnd.assistant_message
            assert reply is not None
            reply.tool_calls = wire
            reply.status = "complete"
            self._save(rnd.session_id, reply)
            emit({"type": "tool_call", "message": message_view(reply)})
            ctx.message_id = parent = reply.id
            return reply.content

        def on_result(call: dict[str, Any], result: str, ok: bool) -> None:
            nonlocal parent
            message = Message(role="tool", content=result, parent_id=parent, tool_call_id=call["id"],
                              status="complete" if ok else "error")
            self._save(rnd.session_id, message)
            emit({"type": "tool_result", "message": message_view(message), "ok": ok,
                  "name": call["function"]["name"]})
            parent = message.id

        run_tool_loop(ask, messages, registry=self.tools, ctx=ctx, allowed=self._allowed_tools(session),
                      max_rounds=self.max_tool_rounds, cancel=rnd.cancel, on_calls=on_calls, on_result=on_result)
        assert rnd.assistant_message is not None
        rnd.assistant_message.status = "stopped" if rnd.cancel.is_set() else "complete"

    def _continue(self, rnd: Round, emit: EventHandler) -> None:
        """Stream the rest of an interrupted reply into it: its text so far, then what the model adds."""
        session = self.state.get_chat_session(rnd.session_id)
        if session is None:
            raise NotFound("Chat session not found.")
        doc, section = self._section_of(session)
        reply = rnd.assistant_message
        assert reply is not None
        model, _ = self.llm.resolve(session.config.get("model"))
        # The history up to the cut-off reply (it is the last message sent), then the request to go on.
        messages, _ = build_messages(doc, section, session, self.context_tokens, upto=reply.id,
                                     **(self.files.context(session) if self.files else {}))
        messages.append({"role": "user", "content": CONTINUE_PROMPT})
        reply.status, reply.error = "streaming", None
        self._save(rnd.session_id, reply)
        emit({"type": "round_start", "message": message_view(reply), "step": 0, "continued": True})
        temperature = session.config.get("temperature")
        request = ChatRequest(model=model, messages=messages, max_tokens=self.max_reply_tokens,
                              temperature=temperature if isinstance(temperature, (int, float)) else None,
                              section_text=section.content, section_title=section.title)
        self._stream(rnd, reply, request, emit, prefix=reply.content)
        reply.status = "stopped" if rnd.cancel.is_set() else "complete"

    def _allowed_tools(self, session: ChatSession) -> list[str]:
        """The session's tools: all built-ins unless its config names a subset (or none)."""
        chosen = session.config.get("tools")
        names = [t.name for t in self.tools.select(chosen if isinstance(chosen, list) else None)]
        return [n for n in names if n != "send_notification"]  # only streams may notify

    def _stream(self, rnd: Round, reply: Message, request: ChatRequest, emit: EventHandler,
                prefix: str = "") -> ToolCallAccumulator:
        """Stream one model answer into `reply` (after `prefix`, its text so far), emitting deltas; its tool calls."""
        out = ReplyStream(self.state, rnd.session_id, reply, emit, prefix,
                          watched=lambda: bool(self.hub.subscribers(rnd.session_id)), streams=self._streaming,
                          lease=rnd.lease)

        def on_retry(wait: Retrying) -> None:
            # The backend waits before trying again: say so, so a silent pause is not taken for a hang.
            emit({"type": "notification", "kind": "retrying", "text": wait.message,
                  "seconds": round(wait.seconds, 2), "reason": wait.reason, "message_id": reply.id})

        try:
            with self.gate.released():  # the tokens are passed on by the reactor's thread meanwhile
                _, calls = collect(lambda sink: self.llm.deliver(request, rnd.cancel, sink), rnd.cancel,
                                   out.on_text, on_retry)
        except BaseException:
            reply.content = out.text()
            out.close(quiet=True)  # the failure told is the one that stopped the stream
            raise
        reply.content = out.text()
        out.close()
        return calls

    def _finish(self, rnd: Round, reply: Message | None, emit: EventHandler) -> None:
        if rnd.restarting and rnd.error is None and (reply is None or reply.status == "stopped"):
            # Cut by the server's shutdown, not by the user: kept and told as after a crash (it can be continued).
            rnd.error = ModelError(recovery.STOPPED, reason="server_restart")
            mark_failed(reply, rnd.error.reason, rnd.error.message, True)
        try:
            if reply is not None:
                self._save(rnd.session_id, reply)
        except NotFound:
            pass  # the session was deleted meanwhile
        except StorageError as exc:
            # What was saved before stays; the failure is told below (if the round had none yet).
            log.warning("could not save the reply in session %s: %s", rnd.session_id, exc.message)
            if rnd.error is None:
                rnd.error = exc
                mark_failed(reply, exc.reason, exc.message, exc.retryable)
        except Exception:
            log.exception("could not save the reply in session %s", rnd.session_id)
        finally:
            message = message_view(reply, (rnd.document_id, rnd.session_id)) if reply is not None else None
            if rnd.error is not None:
                final = {"type": "error", "message": message, "error": rnd.error.to_dict()["error"]}
            elif reply is not None and reply.status == "stopped":
                final = {"type": "stopped", "message": message}
            else:
                final = {"type": "done", "message": message}
            # Free the session and announce the end in one step, so a client that
            # sends again on seeing "done" never finds the session still busy.
            if rnd.lease is not None:
                rnd.lease.release()
            with self._lock:
                self._rounds.pop(rnd.session_id, None)
                emit(final)
            rnd.finished.set()
            self._notify_document(rnd)

    def _notify_document(self, rnd: Round) -> None:
        session = self.state.get_chat_session(rnd.session_id)
        if session is None:
            return
        doc = self.state.get_document(rnd.document_id)
        section = doc.section(session.section_id) if doc is not None else None
        # Named by its section first (what the user sees on the page), then its chat.
        where = f"\u201c{section.title or 'Untitled section'}\u201d" if section is not None else "a section"
        self.hub.notify_document(rnd.document_id, {
            "kind": "reply_finished", "text": f"A reply finished in {where} (chat \u201c{session.title}\u201d).",
            "section_id": session.section_id, "from_session_id": rnd.session_id,
        }, exclude_session=rnd.session_id)
