"""gunicorn settings for VICE AI: `gunicorn -c vice_ai/gunicorn_conf.py ... 'vice_ai:create_app()'`.

gunicorn's gthread worker, on SIGTERM, only stops accepting and waits up to
`graceful_timeout` for open connections to end; a websocket or a reply never
ends by itself, so the master kills the worker when that time is up and the
running replies are lost. These hooks stop the app in the worker when the
signal comes, the same way `run.py` does: running replies are saved as
`stopped`, every socket gets a `restarting` event and closes, the connections
end and the worker exits at once (status 0).

- SIGTERM to the master (systemd, docker stop: a graceful stop) reaches each
  worker as SIGTERM: `post_worker_init` wraps the worker's handler.
- SIGINT or SIGQUIT to the master (a quick stop; Ctrl-C) reaches each worker
  as SIGQUIT (and Ctrl-C in a terminal as SIGINT too): `worker_int` runs
  before the worker exits.
"""
from __future__ import annotations

import signal
import threading
from types import FrameType
from typing import Any

# Time for the app's shutdown (it waits up to 5 s for replies to be saved) and the sockets to close.
graceful_timeout = 15


def _app(worker: Any) -> Any:
    """The worker's VICE AI app, or None (gunicorn may run something else with this file)."""
    from vice_ai.services import KEY

    app = getattr(worker, "wsgi", None)
    return app if KEY in getattr(app, "extensions", {}) else None


def _stop(worker: Any) -> None:
    from vice_ai import shutdown

    app = _app(worker)
    if app is not None:
        worker.log.info("Stopping VICE AI: saving running replies, closing websockets")
        shutdown(app)


def post_worker_init(worker: Any) -> None:
    """On SIGTERM: gunicorn's own handling (stop accepting), then the app's shutdown in a thread."""
    graceful = signal.getsignal(signal.SIGTERM)

    def on_term(signum: int, frame: FrameType | None) -> None:
        if callable(graceful):
            graceful(signum, frame)
        threading.Thread(target=_stop, args=(worker,), name="vice-ai-stop", daemon=True).start()

    signal.signal(signal.SIGTERM, on_term)
    signal.siginterrupt(signal.SIGTERM, False)  # as gunicorn sets it: requests' system calls go on
    from vice_ai.serving import settle_heap

    settle_heap()  # the worker's app is loaded: keep it out of full garbage collections


def worker_int(worker: Any) -> None:
    """SIGINT or SIGQUIT in the worker: the app's shutdown before gunicorn exits the worker."""
    _stop(worker)
