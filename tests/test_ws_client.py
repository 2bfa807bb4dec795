"""The tests' websocket client keeps the frames a server sends in the same packet as its handshake's answer."""
from __future__ import annotations

import socket
import threading

from ws_client import WSClient
from wsproto.handshake import generate_accept_token


def _answer_and_close(listener: socket.socket, message: bytes) -> None:
    """The 101, one text frame and a close frame in one write, then the end of the connection (as a refusal)."""
    conn, _ = listener.accept()
    with conn:
        data = b""
        while b"\r\n\r\n" not in data:
            data += conn.recv(4096)
        key = next(line.split(b":", 1)[1].strip() for line in data.split(b"\r\n")
                   if line.lower().startswith(b"sec-websocket-key:"))
        conn.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                     b"Sec-WebSocket-Accept: " + generate_accept_token(key) + b"\r\n\r\n"
                     + bytes([0x81, len(message)]) + message + bytes([0x88, 2, 0x03, 0xE8]))
        conn.shutdown(socket.SHUT_RDWR)


def test_a_message_sent_with_the_handshake_answer_is_received():
    with socket.create_server(("127.0.0.1", 0)) as listener:
        server = threading.Thread(target=_answer_and_close, args=(listener, b'{"type": "error"}'), daemon=True)
        server.start()
        ws = WSClient.connect(f"ws://127.0.0.1:{listener.getsockname()[1]}/")
        assert ws.receive(5) == '{"type": "error"}'  # simple_websocket's own Client: ConnectionClosed 1005
        server.join(5)
