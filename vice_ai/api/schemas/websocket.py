"""The websocket's messages, declared once: the commands a client sends and the events the server sends.

`COMMANDS` and `EVENTS` map each `type` to its model. The connection validates
every command with `Command` (a union discriminated by `type`, after
`parse_json`); the served OpenAPI document lists both maps under `x-websocket`
(`ws.init_app` registers them); tests check every event a real chat produces
against its model.

Events about a session carry its gap-free `seq`, its `session_id` and the
server run's `epoch` (seqs begin again when the server restarts); replies meant
for one connection only carry `"local": true` (`hello`, `pong`, `sync`,
`restarting` and command errors). Like the HTTP answers, events may gain fields later (extra
fields are allowed), but every field listed here is always there with this type.
Commands are strict: unknown fields are refused.
"""
from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, RootModel

from ..declare import ConfigMaxLen, Schema
from .resources import MessageOut, Out, SessionOut
from .sessions import MessageId, MessagePlace

__all__ = ["COMMANDS", "EVENTS", "Command", "SendCommand", "RetryCommand", "ContinueCommand", "StopCommand",
           "ResumeCommand", "PingCommand", "EventError", "HelloEvent", "UserMessageEvent", "RoundStartEvent",
           "DeltaEvent", "ToolCallEvent", "ToolResultEvent", "DoneEvent", "StoppedEvent", "ErrorEvent",
           "NotificationEvent", "DeletedEvent", "SyncEvent", "PongEvent", "RestartingEvent"]


# ---- commands (client -> server) ----

class SendCommand(MessagePlace):
    """Send a message (as `POST /api/sessions/<id>/messages`); the reply streams as events."""

    type: Literal["send"]
    content: Annotated[str, Field(min_length=1), ConfigMaxLen("MAX_MESSAGE_CHARS", 100_000)]


class RetryCommand(Schema):
    """A new reply beside `message_id` (default: the active branch's last reply), to the same question."""

    type: Literal["retry"]
    message_id: MessageId | None = Field(None, description="The assistant reply to answer again; omitted or null: "
                                         "the active branch's last reply.")


class ContinueCommand(Schema):
    """Ask the model to go on from the chat's last reply, when it is `interrupted`; the rest is appended to it."""

    type: Literal["continue"]


class StopCommand(Schema):
    """Stop the running reply; the partial reply is saved as `stopped`."""

    type: Literal["stop"]


Epoch = Annotated[str, Field(description="The server run the seq belongs to (a new one after every restart)")]


class ResumeCommand(Schema):
    """Replay every event after `after`, or get a `sync` when the replay buffer does not reach back that far
    or `epoch` is missing or not the server's (the server restarted since)."""

    type: Literal["resume"]
    after: int = Field(ge=0, description="The last seq the client has applied (0: none)")
    epoch: str | None = Field(None, max_length=64, description="The epoch of that seq (from `hello` or an event); "
                              "without it (or with another) the answer is `sync`")


class PingCommand(Schema):
    """Answered with `pong`."""

    type: Literal["ping"]


class Command(RootModel[Annotated[SendCommand | RetryCommand | ContinueCommand | StopCommand | ResumeCommand
                                  | PingCommand, Field(discriminator="type")]]):
    """Any client command, told apart by `type`."""


COMMANDS: dict[str, type[Schema]] = {
    "send": SendCommand, "retry": RetryCommand, "continue": ContinueCommand, "stop": StopCommand,
    "resume": ResumeCommand, "ping": PingCommand,
}


# ---- events (server -> client) ----

class SessionEvent(Out):
    """An event about the session: numbered per session, sent to every socket open on it."""

    seq: int = Field(ge=1, description="Per session, gap-free; apply events in seq order, ignore repeats")
    session_id: str
    epoch: Epoch


class EventError(BaseModel):
    """The `error` object of the one error shape, as events carry it."""

    model_config = ConfigDict(extra="allow")
    code: str
    message: str
    retryable: bool
    reason: str | None = Field(None, description="What failed (model errors: timeout, rate_limited, ...)")
    field: str | None = Field(None, description="The command field that is wrong (bad_request)")
    retry_after: int | None = Field(None, description="Seconds to wait (rate_limited)")


class HelloEvent(Out):
    """Sent first on every connection: the session's current seq and whether a reply is running."""

    type: Literal["hello"]
    local: Literal[True]
    seq: int = Field(ge=0, description="The session's seq when the socket opened")
    epoch: Epoch
    session_id: str
    generating: bool


class UserMessageEvent(SessionEvent):
    """The persisted user message: the acknowledgement of `send` (or of `retry`, with `regenerate`)."""

    type: Literal["user_message"]
    message: MessageOut
    regenerate: bool = Field(description="True when `retry` answers an existing message again")
    title: str | None = Field(None, description="The chat's new title, when this first message named it")


class RoundStartEvent(SessionEvent):
    """The empty assistant reply, with its receipt; `step` counts the tool rounds (0 first).

    With `continued`, `message` is the interrupted reply being continued, its text so far
    included: the deltas that follow are appended to it.
    """

    type: Literal["round_start"]
    message: MessageOut
    step: int = Field(ge=0)
    continued: bool = Field(description="True when `continue` goes on with an interrupted reply")


class DeltaEvent(SessionEvent):
    """More text of the reply; now and then `html`, the reply so far rendered. Deltas queued for a socket that
    fell behind are merged into one: it carries `first_seq` and stands for the events `first_seq`..`seq`."""

    type: Literal["delta"]
    message_id: str
    text: str
    html: str | None = Field(None, description="The whole reply so far, rendered and sanitized (sometimes)")
    first_seq: int | None = Field(None, ge=1, description="A merged delta: the seq of the first delta it covers "
                                                          "(its `seq` is the last's)")


class ToolCallEvent(SessionEvent):
    """An assistant step that calls tools (`message.tool_calls`); a new `round_start` follows the results."""

    type: Literal["tool_call"]
    message: MessageOut


class ToolResultEvent(SessionEvent):
    """A tool's result (`message`: role `tool`, `tool_call_id`, `content`)."""

    type: Literal["tool_result"]
    message: MessageOut
    name: str
    ok: bool


class DoneEvent(SessionEvent):
    """The final assistant message."""

    type: Literal["done"]
    message: MessageOut


class StoppedEvent(SessionEvent):
    """The partial reply, saved as `stopped`."""

    type: Literal["stopped"]
    message: MessageOut


class ErrorEvent(Out):
    """A failure: of the reply (with the partial reply or null, numbered), of a command (`local`, no seq), or
    the end of access (seq 0, then the socket closes)."""

    type: Literal["error"]
    error: EventError
    message: MessageOut | None = Field(None, description="The partial reply, or null (reply errors)")
    seq: int | None = Field(None, ge=0, description="Reply errors: the session's seq; 0 when access ends")
    session_id: str | None = None
    epoch: str | None = Field(None, description="Reply errors: the server run the seq belongs to")
    local: Literal[True] | None = Field(None, description="True for a command's error, sent to this socket only")


class NotificationEvent(SessionEvent):
    """A notice: a reply finished in another section, a notification stream spoke or stopped, a retry wait."""

    type: Literal["notification"]
    kind: str = Field(description="reply_finished, stream, stream_stopped, retrying, ...")
    text: str
    section_id: str | None = None
    seconds: float | None = Field(None, description="retrying: how long the app waits before it asks again")
    reason: str | None = Field(None, description="retrying: what failed (rate_limited, server_error, connection, ...)")
    message_id: str | None = Field(None, description="retrying: the reply being written")


class BranchChangedEvent(SessionEvent):
    """A writer switched the chat's active branch (`PATCH active_leaf`): show it, unless you keep your own
    (a reader's branch kept in the browser)."""

    type: Literal["branch_changed"]
    active_leaf: str = Field(description="The last message of the active branch now")
    message_id: str = Field(description="The message the switch chose (a sibling of one on the old branch)")


class DeletedEvent(SessionEvent):
    """The session was deleted; the socket closes."""

    type: Literal["deleted"]


class SyncEvent(Out):
    """The saved session, when `resume` asks for more than the replay buffer holds or for a seq of another
    epoch (replace the view; continue from this seq and epoch)."""

    type: Literal["sync"]
    local: Literal[True]
    seq: int = Field(ge=0, description="The session's current seq")
    epoch: Epoch
    session: SessionOut


class RestartingEvent(Out):
    """The server is stopping (a restart or a deploy): the socket closes next; reconnect and resume."""

    type: Literal["restarting"]
    local: Literal[True]
    message: str


class PongEvent(Out):
    """The answer to `ping`."""

    type: Literal["pong"]
    local: Literal[True]


EVENTS: dict[str, type[Out]] = {
    "hello": HelloEvent, "user_message": UserMessageEvent, "round_start": RoundStartEvent, "delta": DeltaEvent,
    "tool_call": ToolCallEvent, "tool_result": ToolResultEvent, "done": DoneEvent, "stopped": StoppedEvent,
    "error": ErrorEvent, "notification": NotificationEvent, "deleted": DeletedEvent, "sync": SyncEvent,
    "pong": PongEvent, "restarting": RestartingEvent, "branch_changed": BranchChangedEvent,
}


def event_model(event: dict[str, Any]) -> type[Out] | None:
    """The declared model of an event, by its `type` (None for a type nobody declared)."""
    kind = event.get("type")
    return EVENTS.get(kind) if isinstance(kind, str) else None
