"""The app as a real separate process (`run.py`) on a shared data folder: for multi-process tests.

    with AppProcess(data_dir, env={"OPENAI_BASE_URL": fake.url + "/v1", ...}) as a:
        requests go to a.url; a.kill() is a SIGKILL (no shutdown code runs)

Runs in local mode (one user, no sign-in) unless `env` sets VICE_AI_AUTH.
"""
from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class AppProcess:
    def __init__(self, data_dir: str, env: dict[str, str] | None = None, start_timeout: float = 30.0) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.ws_url = f"ws://127.0.0.1:{self.port}"
        environ = {k: v for k, v in os.environ.items() if not k.startswith(("VICE_AI_", "OPENAI_"))}
        environ.update({"VICE_AI_DATA_DIR": data_dir, "PYTHONUNBUFFERED": "1", **(env or {})})
        self.log_path = Path(data_dir).parent / f"app-{self.port}.log"
        self._log = open(self.log_path, "wb")  # noqa: SIM115  (closed in stop/kill)
        self.proc = subprocess.Popen([sys.executable, str(ROOT / "run.py"), "--host", "127.0.0.1",
                                      "--port", str(self.port)], cwd=ROOT, env=environ,
                                     stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + start_timeout
        while True:
            try:
                if self.request("GET", "/api/health")[0] == 200:
                    return
            except OSError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.kill()
                raise RuntimeError(f"the app process did not start:\n{self.output()}")
            time.sleep(0.1)

    def request(self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None,
                timeout: float = 30.0) -> tuple[int, Any]:
        """One HTTP request; returns (status, parsed JSON or None)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            sent = {"X-Vice-CSRF": "1", **(headers or {})}
            data = None
            if body is not None:
                data = json.dumps(body).encode()
                sent["Content-Type"] = "application/json"
            conn.request(method, path, body=data, headers=sent)
            response = conn.getresponse()
            raw = response.read()
            try:
                return response.status, json.loads(raw) if raw else None
            except ValueError:
                return response.status, None
        finally:
            conn.close()

    def output(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")

    def kill(self) -> None:
        """SIGKILL: the process dies mid-whatever, as in a crash."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)
        self._log.close()

    def stop(self) -> None:
        """SIGTERM: the app's own shutdown (running replies saved as interrupted)."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()

    def __enter__(self) -> AppProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
