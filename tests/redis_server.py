"""A real `redis-server` for tests: our own instance on a free port in a temporary folder.

Never a system instance. Without the binary the tests that use it skip saying so; with
VICE_AI_REQUIRE_REDIS=1 (CI sets it) they fail instead.
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator

import pytest

REQUIRED = os.environ.get("VICE_AI_REQUIRE_REDIS") == "1"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _missing(reason: str) -> None:
    if REQUIRED:
        pytest.fail(f"VICE_AI_REQUIRE_REDIS=1 but {reason}", pytrace=False)
    pytest.skip(f"Redis tests skipped: {reason} (install Debian's 'redis-server' package to run them)")


class RedisServer:
    """One redis-server process; `url` for the app, `client()` for the test, `flush()` between tests."""

    def __init__(self, folder: str) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            _missing("no redis-server on PATH")
        self.port = _free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc = subprocess.Popen(
            [str(binary), "--port", str(self.port), "--bind", "127.0.0.1", "--dir", folder,
             "--save", "", "--appendonly", "no", "--protected-mode", "yes"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=folder)
        deadline = time.monotonic() + 10
        while True:
            try:
                if self.client().ping():
                    return
            except Exception:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    _missing(f"redis-server did not start on port {self.port}")
                time.sleep(0.05)

    def client(self):  # -> redis.Redis
        import redis
        return redis.Redis.from_url(self.url, decode_responses=True, socket_timeout=5)

    def flush(self) -> None:
        self.client().flushall()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    with tempfile.TemporaryDirectory(prefix="vice-redis-") as folder:
        server = RedisServer(folder)
        try:
            yield server
        finally:
            server.stop()


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    """The URL of an empty Redis (flushed before each test)."""
    redis_server.flush()
    return redis_server.url
