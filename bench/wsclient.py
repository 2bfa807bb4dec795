"""The stream benchmark's websocket readers: many sockets read by one thread and one selector.

A thread per socket (and simple_websocket's second thread per socket, and its
per-message events) costs the readers' process more CPU than the app spends on
the same tokens, and that process shares the machine with the app. This reader
does only what a websocket client must: the handshake, one masked text frame
out per socket, and unmasked frames in (text, ping answered, close), all in one
thread. Arrival times are taken right after each `recv`, before any parsing.
"""
from __future__ import annotations

import base64
import json
import os
import selectors
import socket
import struct
import time
from collections.abc import Callable
from typing import Any


def _mask(mask: bytes, payload: bytes) -> bytes:
    n = len(payload)
    if not n:
        return b""
    key = (mask * (n // 4 + 1))[:n]
    return (int.from_bytes(payload, "big") ^ int.from_bytes(key, "big")).to_bytes(n, "big")


def frame(opcode: int, payload: bytes) -> bytes:
    mask = os.urandom(4)
    n = len(payload)
    if n < 126:
        head = struct.pack("!BB", 0x80 | opcode, 0x80 | n)
    elif n < 65536:
        head = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, n)
    else:
        head = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, n)
    return head + mask + _mask(mask, payload)


class Socket:
    """One websocket: connected and upgraded at once (blocking), then read by `read_all`."""

    def __init__(self, port: int, path: str, on_message: Callable[[Socket, str, float], bool]) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port))
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
                           f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
                           ).encode())
        buf = b""
        while b"\r\n\r\n" not in buf:
            got = self.sock.recv(65536)
            if not got:
                raise ConnectionError(f"{path}: closed during the handshake")
            buf += got
        head, _, self.buf = buf.partition(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 101"):
            raise ConnectionError(f"{path}: {head[:80]!r}")
        self.on_message = on_message  # (socket, text, arrival time) -> False when this socket is done
        self.done = False
        self.tag: str = ""
        self.failure: str | None = None
        self.parts: list[bytes] = []

    def send_text(self, text: str) -> None:
        self.sock.sendall(frame(0x1, text.encode()))

    def feed(self, now: float) -> None:
        """Take every whole frame in the buffer."""
        buf, pos = self.buf, 0
        while len(buf) - pos >= 2:
            b0, b1 = buf[pos], buf[pos + 1]
            n, at = b1 & 0x7F, pos + 2
            if n == 126:
                if len(buf) - at < 2:
                    break
                n, at = struct.unpack_from("!H", buf, at)[0], at + 2
            elif n == 127:
                if len(buf) - at < 8:
                    break
                n, at = struct.unpack_from("!Q", buf, at)[0], at + 8
            if len(buf) - at < n:
                break
            payload, pos = buf[at:at + n], at + n
            opcode = b0 & 0x0F
            if opcode in (0x0, 0x1):
                self.parts.append(payload)
                if b0 & 0x80:
                    text, self.parts = b"".join(self.parts).decode(), []
                    if not self.on_message(self, text, now):
                        self.done = True
            elif opcode == 0x9:
                self.sock.sendall(frame(0xA, payload))
            elif opcode == 0x8:
                self.done = True
        self.buf = buf[pos:]


def read_all(sockets: list[Socket], timeout: float = 120.0) -> None:
    """Read every socket until its `on_message` says it is done (one thread, one selector)."""
    sel = selectors.DefaultSelector()
    for ws in sockets:
        ws.sock.setblocking(False)
        sel.register(ws.sock, selectors.EVENT_READ, ws)
        if ws.buf:
            ws.feed(time.monotonic())
    left = sum(1 for ws in sockets if not ws.done)
    deadline = time.monotonic() + timeout
    while left:
        ready = sel.select(1.0)
        now = time.monotonic()
        if not ready and now > deadline:
            raise TimeoutError(f"{left} sockets still open")
        for key, _ in ready:
            ws = key.data
            try:
                got = ws.sock.recv(1 << 20)
            except BlockingIOError:
                continue
            if not got:
                ws.done = True
            else:
                ws.buf += got
                ws.feed(now)
            if ws.done:
                sel.unregister(ws.sock)
                ws.sock.close()
                left -= 1
                deadline = now + timeout
    sel.close()


def send_command(ws: Socket, command: dict[str, Any]) -> None:
    ws.send_text(json.dumps(command))
