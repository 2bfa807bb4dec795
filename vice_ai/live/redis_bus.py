"""The Redis side of the hub when `REDIS_URL` is set: numbered events in Streams, fan-out and control on pub/sub.

Every process of one app (gunicorn workers, hosts) talks to the same Redis:

- `publish` runs one Lua script: INCR the channel's seq, XADD the event to the
  channel's Stream under the id `<seq>-1` (trimmed to about the hub's buffer,
  `MAXLEN ~`), EXPIRE both (`ttl`, renewed by each event), PUBLISH it on
  `vice:ev`. Being one script, seqs are gap-free across processes and the
  pub/sub order is the seq order. `publish_many` sends several of them in one
  pipeline (the hub's publisher thread: one round trip for all that queued).
- One listener thread per process reads `vice:ev` and `vice:ctl` and hands each
  message to the hub (`on_event`, `on_control`), which delivers to this
  process's own sockets. When the listener's connection breaks it reconnects
  and calls `on_reconnect`, so the hub can fetch what it missed from the Streams.
- `since` reads a channel's Stream: `resume` and `sync` answer the same from any process.
- `ask` publishes a control message and collects each process's answer (how
  many processes heard it is what PUBLISH returns): how `stop` learns whether
  some process had the generation.
- The epoch (what a seq means) is a key of its own, made by the first event after
  Redis lost its data, so a client's old seqs are never taken for new ones.

Every Redis error is raised as `Unavailable` (503 in the one error shape);
commands time out after a few seconds, so nothing hangs while Redis is down.
"""
from __future__ import annotations

import json
import logging
import os
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import redis

try:
    import hiredis
except ImportError:  # redis-py's own parser then (slower)
    hiredis = None  # type: ignore[assignment]

from ..errors import Unavailable
from .lag import Lag

log = logging.getLogger(__name__)

PREFIX = "vice:"
EVENTS = PREFIX + "ev"
CONTROL = PREFIX + "ctl"
EPOCH = PREFIX + "epoch"
# How long an idle channel's seq and Stream are kept (renewed by each event, and while sockets watch it).
TTL_SECONDS = 7 * 24 * 3600
# Seconds a Redis command may take; the listener polls this often for its stop flag.
TIMEOUT = 3.0

# KEYS: seq, stream, epoch. ARGV: event JSON, maxlen, ttl, a fresh epoch (used if Redis lost its own), channel.
_PUBLISH = """
local epoch = redis.call('GET', KEYS[3])
if not epoch then
  epoch = ARGV[4]
  redis.call('SET', KEYS[3], epoch)
end
local seq = redis.call('INCR', KEYS[1])
if seq == 1 then redis.call('DEL', KEYS[2]) end
redis.call('EXPIRE', KEYS[1], ARGV[3])
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], seq .. '-1', 'e', ARGV[1])
redis.call('EXPIRE', KEYS[2], ARGV[3])
redis.call('PUBLISH', ARGV[6], seq .. ' ' .. epoch .. ' ' .. ARGV[5] .. ' ' .. ARGV[1])
return {seq, epoch}
"""


def seq_key(channel: str) -> str:
    return f"{PREFIX}seq:{channel}"


def stream_key(channel: str) -> str:
    return f"{PREFIX}stream:{channel}"


@contextmanager
def guarded(what: str) -> Iterator[None]:
    """Redis errors (down, timed out, refused) as the app's 503."""
    try:
        yield
    except redis.RedisError as exc:
        raise Unavailable(f"Redis is not reachable ({what}): {type(exc).__name__}.", reason="redis") from exc


class RedisBus:
    """One process's link to the app's Redis: events, their Streams, control messages, a listener thread."""

    def __init__(self, url: str, maxlen: int, ttl: int = TTL_SECONDS) -> None:
        self.maxlen = maxlen
        self.ttl = ttl
        self.client = redis.Redis.from_url(url, decode_responses=True, socket_timeout=TIMEOUT,
                                           socket_connect_timeout=TIMEOUT, health_check_interval=30)
        self._script = self.client.register_script(_PUBLISH)
        # Connections of `publish_many` (not redis-py's pool: written and read directly), made as needed.
        self._idle: list[Any] = []
        self._closed_connections = False
        self._publishing = threading.Lock()
        self._fresh = secrets.token_hex(8)
        # This process, so it can tell its own control messages from the others'.
        self.origin = f"{os.getpid()}-{secrets.token_hex(4)}"
        self.on_event: Callable[[str, int, str, str], None] = lambda channel, seq, epoch, payload: None
        self.on_control: Callable[[dict[str, Any]], None] = lambda message: None
        self.on_reconnect: Callable[[], None] = lambda: None
        # Called by the listener about once a second (the hub renews what its sockets watch).
        self.on_tick: Callable[[], None] = lambda: None
        self.connected = False
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self.lag = Lag()  # the listener's (hiredis): whether it is behind

    # -- the listener ----------------------------------------------------------------
    def start(self) -> None:
        self._thread = threading.Thread(target=self._listen, name="redis-listener", daemon=True)
        self._thread.start()

    def close(self, timeout: float = 5.0) -> None:
        self._stopping.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)
        with self._publishing:
            self._closed_connections = True
            idle, self._idle = self._idle, []
        for connection in idle:
            connection.disconnect()

    def wait_connected(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while not self.connected and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.connected

    def _listen(self) -> None:
        delay, first = 0.2, True
        while not self._stopping.is_set():
            pubsub = self.client.pubsub(ignore_subscribe_messages=True)
            try:
                pubsub.subscribe(EVENTS, CONTROL)
                self.connected, delay = True, 0.2
                if not first:
                    log.warning("Redis is reachable again; catching up the open sockets")
                    self.on_reconnect()
                first = False
                tick = time.monotonic() + 1.0
                for channel, data in self._messages(pubsub):
                    if channel:
                        self._handle(channel, data)
                    if time.monotonic() >= tick:
                        tick = time.monotonic() + 1.0
                        self._tick()
            except redis.RedisError as exc:
                self.lag.waiting()
                if self.connected or first:
                    log.error("Redis is not reachable (%s): live events between processes wait for it", exc)
                self.connected, first = False, False
                self._stopping.wait(delay)
                delay = min(delay * 2, 5.0)
            finally:
                try:
                    pubsub.close()
                except Exception:  # closing a broken connection
                    pass

    def _messages(self, pubsub: Any) -> Iterator[tuple[str, str]]:
        """(channel, data) of each pub/sub message, ("", "") about once a second when none came, until stopped.

        With hiredis, read straight off the subscribed socket into a reader of our own: one `recv` brings
        every message that arrived meanwhile (redis-py's `get_message` polls the socket, sets its
        timeout and reads, several system calls and GIL hand-overs per message)."""
        sock = getattr(pubsub.connection, "_sock", None)
        if hiredis is None or sock is None:
            while not self._stopping.is_set():
                message = pubsub.get_message(timeout=1.0)
                yield (message["channel"], message["data"]) if message is not None else ("", "")
            return
        reader = hiredis.Reader(encoding="utf-8")
        sock.settimeout(1.0)
        while not self._stopping.is_set():
            reply = reader.gets()
            if reply is False:
                self.lag.waiting()
                try:
                    data = sock.recv(1 << 16)
                    self.lag.woke()
                except TimeoutError:
                    yield "", ""
                    continue
                except OSError as exc:
                    raise redis.ConnectionError(f"the pub/sub connection broke: {exc}") from exc
                if not data:
                    raise redis.ConnectionError("Redis closed the pub/sub connection")
                reader.feed(data)
            elif isinstance(reply, list) and len(reply) == 3 and reply[0] == "message":
                yield reply[1], reply[2]  # (subscribe confirmations are skipped)

    def _tick(self) -> None:
        try:
            self.on_tick()
        except Exception:
            log.exception("the listener's periodic work failed")

    def _handle(self, channel: str, data: str) -> None:
        try:
            if channel == EVENTS:
                seq, epoch, key, payload = data.split(" ", 3)
                self.on_event(key, int(seq), epoch, payload)
            else:
                self.on_control(json.loads(data))
        except Exception:  # one bad message must not stop the listener
            log.exception("a message from Redis could not be handled")

    # -- events ----------------------------------------------------------------------
    def publish_many(self, items: list[tuple[str, str]]) -> list[tuple[int, str]]:
        """Number several events (channel, JSON) in one round trip, in order; their (seq, epoch).

        On a connection of its own, written and read directly: the pipeline machinery of redis-py costs
        several times the round trip's own CPU, for every batch."""
        with guarded("publish"):
            with self._publishing:
                connection = self._idle.pop() if self._idle else None
            if connection is None:
                connection = self.client.connection_pool.make_connection()
            try:
                results = self._send_publish(connection, items)
                if any(isinstance(r, redis.exceptions.NoScriptError) for r in results):
                    self.client.script_load(_PUBLISH)  # first use, or Redis restarted: load it (again)
                    results = self._send_publish(connection, items)
            except redis.RedisError:
                connection.disconnect()  # a reply may be half read: not used again
                raise
            with self._publishing:
                if self._closed_connections:
                    connection.disconnect()
                else:
                    self._idle.append(connection)
            for result in results:
                if isinstance(result, Exception):
                    raise result
        if any(str(epoch) == self._fresh for _, epoch in results):
            self._fresh = secrets.token_hex(8)
        return [(int(seq), str(epoch)) for seq, epoch in results]

    def _send_publish(self, connection: Any, items: list[tuple[str, str]]) -> list[Any]:
        fresh = self._fresh  # the epoch if Redis lost its own; made anew once it was used (random bytes: a syscall)
        commands = [("EVALSHA", self._script.sha, 3, seq_key(channel), stream_key(channel), EPOCH,
                     payload, self.maxlen, self.ttl, fresh, channel, EVENTS) for channel, payload in items]
        connection.send_packed_command(connection.pack_commands(commands))
        results: list[Any] = []
        for _ in commands:
            try:
                results.append(connection.read_response())
            except redis.exceptions.ResponseError as exc:  # this command's error; the next replies follow
                results.append(exc)
        return results

    def current(self, channel: str) -> tuple[int, str | None]:
        """A channel's seq now, and the epoch (None before any event since Redis last lost its data)."""
        with guarded("subscribe"):
            seq, epoch = self.client.mget(seq_key(channel), EPOCH)
        return int(seq or 0), str(epoch) if epoch else None

    def epoch(self, fresh: str) -> str:
        """The app's epoch, made now (as `fresh`) if Redis has none."""
        with guarded("epoch"):
            self.client.set(EPOCH, fresh, nx=True)
            found = self.client.get(EPOCH)
        return str(found or fresh)

    def since(self, channel: str, after: int) -> tuple[list[tuple[int, str]] | None, int]:
        """(seq, payload) of a channel's events after `after`, or None when the Stream no longer reaches back."""
        with guarded("resume"):
            pipe = self.client.pipeline(transaction=True)
            pipe.get(seq_key(channel))
            pipe.xrange(stream_key(channel), min=f"{after + 1}-0", max="+")
            raw_seq, entries = pipe.execute()
        current = int(raw_seq or 0)
        if after > current:
            return None, current
        found = [(int(entry_id.split("-")[0]), fields["e"]) for entry_id, fields in entries]
        if after < current and (not found or found[0][0] != after + 1):
            return None, current  # trimmed or expired
        return found, current

    def forget(self, channel: str) -> None:
        with guarded("delete"):
            self.client.delete(seq_key(channel), stream_key(channel))

    def watch(self, key: str, members: dict[str, float], window: float) -> None:
        """Score members of a sorted set by when they were last watched; cut those older than `window` s."""
        with guarded("subscribe"):
            pipe = self.client.pipeline(transaction=False)
            pipe.zadd(key, members)
            pipe.zremrangebyscore(key, "-inf", f"({max(members.values()) - window}")
            pipe.expire(key, int(window) + 60)
            pipe.execute()

    def watched(self, key: str, since: float) -> list[str]:
        """Members of a sorted set watched since `since` (older ones are cut)."""
        with guarded("notify"):
            pipe = self.client.pipeline(transaction=False)
            pipe.zremrangebyscore(key, "-inf", f"({since}")
            pipe.zrange(key, 0, -1)
            _, members = pipe.execute()
        return [str(m) for m in members]

    def keep(self, keys: list[str]) -> None:
        """Renew the TTL of keys something in this process still uses."""
        with guarded("renew"):
            pipe = self.client.pipeline(transaction=False)
            for key in keys:
                pipe.expire(key, self.ttl)
            pipe.execute()

    # -- control -----------------------------------------------------------------------
    def tell(self, message: dict[str, Any]) -> int:
        """A control message to every process (this one included); returns how many heard it."""
        with guarded("control"):
            return int(self.client.publish(CONTROL, json.dumps({**message, "origin": self.origin})))

    def ask(self, message: dict[str, Any], timeout: float = 2.0) -> bool:
        """Ask every process; True as soon as one answers yes, False when all said no or time ran out."""
        nonce = secrets.token_hex(8)
        heard = self.tell({**message, "reply": nonce})
        deadline = time.monotonic() + timeout
        with guarded("control"):
            for _ in range(heard):
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                answer = self.client.blpop([f"{PREFIX}ack:{nonce}"], timeout=max(0.01, left))
                if answer is None:
                    break
                if answer[1] == "1":
                    return True
        return False

    def answer(self, message: dict[str, Any], yes: bool) -> None:
        nonce = message.get("reply")
        if not nonce:
            return
        key = f"{PREFIX}ack:{nonce}"
        with guarded("control"):
            pipe = self.client.pipeline(transaction=False)
            pipe.rpush(key, "1" if yes else "0")
            pipe.expire(key, 30)
            pipe.execute()

    def ping(self) -> bool:
        try:
            return bool(self.client.ping())
        except redis.RedisError:
            return False
