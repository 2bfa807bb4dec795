"""Leases as keys in Redis: taken with SET NX PX, renewed by a thread, checked before each write, fenced.

The key `vice:lease:<kind>:<id>` holds `<fence>:<random token>`; the fence
comes from INCR on `vice:fence:<kind>:<id>` (kept a day after the last grant),
so every grant of a name has a larger number than the one before within a day.
`held_anywhere` asks whether the key exists: a chat generating in any process. A thread renews every held lease (a Lua
compare-and-PEXPIRE) every quarter of the time to live; a lease whose key is no
longer its own (it expired: the process was paused or cut off from Redis longer
than the TTL, and another took it) is marked lost and its callbacks run.
`check` asks Redis (compare the key with the token): a writer calls it, under
the lock of what it writes, right before each write, so a process that lost its
lease never writes after the new holder did. Releasing is a compare-and-delete.

The id of every held lease of a tracked kind (chats) is also in the set
`vice:leased:<kind>` until released; `orphans` lists the ids there whose key is
gone: their process died holding them.
"""
from __future__ import annotations

import logging
import secrets
import threading
import time

import redis

from ..errors import StorageError
from .leases import Lease, Leases

log = logging.getLogger(__name__)

PREFIX = "vice:"
# Seconds a name's fence counter is kept after its last grant. Fencing compares tokens (random), so a counter
# that expired and starts again at 1 is still never taken for the token of the lease before.
FENCE_TTL = 24 * 3600

_RENEW = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end
return 0
"""
_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  redis.call('del', KEYS[1])
  redis.call('srem', KEYS[2], ARGV[2])
  return 1
end
return 0
"""


class RedisUnavailable(StorageError):
    """Redis, which coordinates the server's processes, cannot be reached."""

    code = "redis_unavailable"

    def __init__(self, detail: str) -> None:
        super().__init__("The server cannot reach Redis, which coordinates its processes; try again shortly.",
                         retryable=True, reason="redis_unavailable", detail=detail)


class RedisLeases(Leases):
    fenced = True

    TRACKED = ("session",)  # kinds whose held ids are listed, so a dead holder's can be found

    def __init__(self, url: str, ttl: float = 10.0) -> None:
        super().__init__()
        self.redis = redis.Redis.from_url(url, decode_responses=True, socket_timeout=5, socket_connect_timeout=5)
        self.ttl = ttl
        self._renew = self.redis.register_script(_RENEW)
        self._release = self.redis.register_script(_RELEASE)
        self._renewed: dict[int, float] = {}  # id(lease) -> time.monotonic() of its last renewal
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._thread_guard = threading.Lock()

    @staticmethod
    def _key(kind: str, item_id: str) -> str:
        return f"{PREFIX}lease:{kind}:{item_id}"

    def _take(self, kind: str, item_id: str) -> Lease | None:
        started = time.monotonic()
        try:
            pipe = self.redis.pipeline(transaction=False)
            pipe.incr(f"{PREFIX}fence:{kind}:{item_id}")
            pipe.expire(f"{PREFIX}fence:{kind}:{item_id}", FENCE_TTL)  # no key per id ever leased, for ever
            fence = int(pipe.execute()[0])
            token = f"{fence}:{secrets.token_hex(16)}"
            if not self.redis.set(self._key(kind, item_id), token, nx=True, px=int(self.ttl * 1000)):
                return None
            if kind in self.TRACKED:
                self.redis.sadd(f"{PREFIX}leased:{kind}", item_id)
        except redis.RedisError as exc:
            raise RedisUnavailable(str(exc)) from exc
        lease = Lease(self, kind, item_id, token=token, fence=fence)
        self._renewed[id(lease)] = started
        self._start_renewing()
        return lease

    def _give_back(self, lease: Lease) -> None:
        self._renewed.pop(id(lease), None)
        self._release(keys=[self._key(lease.kind, lease.item_id), f"{PREFIX}leased:{lease.kind}"],
                      args=[lease.token, lease.item_id])

    def held_anywhere(self, kind: str, item_id: str) -> bool:
        if self.holds(kind, item_id):
            return True
        try:
            return bool(self.redis.exists(self._key(kind, item_id)))
        except redis.RedisError as exc:
            log.warning("could not ask whether %s %s is held elsewhere: %s", kind, item_id, exc)
            return False

    def still_held(self, lease: Lease) -> bool:
        if lease.released:
            return False
        try:
            return bool(self.redis.get(self._key(lease.kind, lease.item_id)) == lease.token)
        except redis.RedisError as exc:
            # Cannot tell: held only while its last renewal is surely still running.
            log.warning("could not check the lease on %s %s: %s", lease.kind, lease.item_id, exc)
            return time.monotonic() - self._renewed.get(id(lease), 0.0) < self.ttl * 0.75

    @property
    def sweeps(self) -> bool:
        return True

    def orphans(self, kind: str) -> list[str]:
        try:
            ids = sorted(str(i) for i in self.redis.smembers(f"{PREFIX}leased:{kind}"))
            if not ids:
                return []
            pipe = self.redis.pipeline(transaction=False)
            for item_id in ids:
                pipe.exists(self._key(kind, item_id))
            alive = pipe.execute()
        except redis.RedisError as exc:
            log.warning("could not look for orphaned leases: %s", exc)
            return []
        return [item_id for item_id, live in zip(ids, alive, strict=True) if not live]

    def forget_orphan(self, kind: str, item_id: str) -> None:
        """Drop an id from the set of held leases when its key is (still) gone."""
        try:
            if not self.redis.exists(self._key(kind, item_id)):
                self.redis.srem(f"{PREFIX}leased:{kind}", item_id)
        except redis.RedisError as exc:
            log.warning("could not forget the orphaned lease on %s %s: %s", kind, item_id, exc)

    # -- renewal ----------------------------------------------------------------------
    def _start_renewing(self) -> None:
        with self._thread_guard:
            if self._thread is None and not self._stop.is_set():
                self._thread = threading.Thread(target=self._renew_loop, name="lease-renewal", daemon=True)
                self._thread.start()

    def _renew_loop(self) -> None:
        while not self._stop.wait(self.ttl / 4):
            for lease in self.held():
                self.renew(lease)

    def renew(self, lease: Lease) -> bool:
        """Extend one lease; False (and the lease marked lost) when its key is not its own any more."""
        if lease.released or lease.lost.is_set():
            return False
        started = time.monotonic()
        try:
            ok = self._renew(keys=[self._key(lease.kind, lease.item_id)], args=[lease.token, int(self.ttl * 1000)])
        except redis.RedisError as exc:
            log.warning("could not renew the lease on %s %s: %s", lease.kind, lease.item_id, exc)
            if started - self._renewed.get(id(lease), started) > self.ttl:
                lease.lose()
            return False
        if ok:
            self._renewed[id(lease)] = started
            return True
        lease.lose()
        return False

    def close(self) -> None:
        self._stop.set()
        super().close()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(2)
        self.redis.close()
