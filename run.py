"""Start VICE AI: `python run.py [--host H] [--port P]` (VICE_AI_HOST / VICE_AI_PORT also work)."""
from __future__ import annotations

import argparse
import os

from werkzeug.serving import run_simple

from vice_ai import create_app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Run the VICE AI web app.")
    parser.add_argument("--host", default=os.environ.get("VICE_AI_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("VICE_AI_PORT", "5000")))
    args = parser.parse_args(argv)
    app = create_app()
    llm = app.extensions["vice_llm"]
    mode = "offline assistant (set OPENAI_API_KEY / OPENAI_BASE_URL for a real model)" if llm.offline else f"model {llm.default_model}"
    print(f"VICE AI on http://{args.host}:{args.port}/ using the {mode}; data in {app.config['DATA_DIR']}", flush=True)
    run_simple(args.host, args.port, app, threaded=True, use_reloader=False)


if __name__ == "__main__":
    main()
