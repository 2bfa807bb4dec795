"""Start VICE AI: `python run.py [--host H] [--port P]` (VICE_AI_HOST / VICE_AI_PORT also work)."""
from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping

from vice_ai import create_app, services, shutdown
from vice_ai.security.hosts import allowed_hosts
from vice_ai.serving import make_json_server, serve_until_signalled, settle_heap

LOCALHOST = ("127.0.0.1", "localhost", "::1")


def auth_mode(host: str, environ: Mapping[str, str]) -> str | None:
    """Local mode (one user, no sign-in) when nobody chose a mode and only this machine can connect."""
    if environ.get("VICE_AI_AUTH") or host not in LOCALHOST:
        return None  # VICE_AI_AUTH, or the factory's default: accounts
    return "local"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run the VICE AI web app.")
    parser.add_argument("--host", default=os.environ.get("VICE_AI_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("VICE_AI_PORT", "5000")))
    args = parser.parse_args(argv)
    mode = auth_mode(args.host, os.environ)
    # The listening address is an allowed Host unless VICE_AI_ALLOWED_HOSTS says otherwise.
    app = create_app({"LISTEN_HOST": args.host, **({"AUTH": mode} if mode else {})})
    llm = services(app).llm
    model = (f"model {llm.default_model}" if not llm.offline
             else "offline assistant (set OPENAI_API_KEY / OPENAI_BASE_URL for a real model)")
    who = {"local": "local mode: one user, no sign-in", "password": "accounts: sign in with a password",
           "header": f"accounts from the proxy header {app.config['AUTH_HEADER']}"}[app.config["AUTH"]]
    print(f"VICE AI on http://{args.host}:{args.port}/ using the {model}; {who}; data in {app.config['DATA_DIR']}",
          flush=True)
    print(f"Answering to the host names {', '.join(allowed_hosts(app.config))} "
          "(VICE_AI_ALLOWED_HOSTS sets them)", flush=True)
    # SIGTERM (systemd, docker stop) and SIGINT (Ctrl-C) alike: stop accepting, save running
    # replies as stopped, tell open pages the server is restarting, exit 0.
    server = make_json_server(args.host, args.port, app)
    settle_heap()
    return serve_until_signalled(server, lambda: shutdown(app))


if __name__ == "__main__":
    sys.exit(main())
