"""Configuration: defaults, then environment, then the mapping given to the factory."""
from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent

DEFAULTS: dict[str, Any] = {
    "DATA_DIR": str(PROJECT_ROOT / "sessions_data"),
    # Whole request bodies; Flask answers 413 above this.
    "MAX_CONTENT_LENGTH": 2 * 1024 * 1024,
    # Path and query string; longer URLs answer 414 (the HTTP server's own limit is higher).
    # One uploaded file (multipart routes); their whole request may be this plus 64 KiB of form.
    "MAX_UPLOAD_BYTES": 10 * 1024 * 1024,
    "MAX_URL_CHARS": 8192,
    "MAX_MESSAGE_CHARS": 100_000,
    "MAX_SECTION_CHARS": 500_000,
    "MAX_TITLE_CHARS": 300,
    # Model server. No key and no URL means offline assistant.
    "OPENAI_API_KEY": None,
    "OPENAI_BASE_URL": None,
    "MODEL": "gpt-4o-mini",
    "MODELS": None,
    "REQUEST_TIMEOUT": 60.0,
    "IDLE_TIMEOUT": 30.0,
    "CONNECT_TIMEOUT": 10.0,
    "MAX_RETRY_AFTER": 20.0,
    "CONTEXT_TOKENS": 12_000,
    "MAX_REPLY_TOKENS": 2_000,
    # Files as context (vice_ai/files/): caps on what is extracted, files per chat or document, and the
    # share of CONTEXT_TOKENS their text may take in a request.
    "FILE_MAX_PAGES": 300,
    "FILE_MAX_CHARS": 200_000,
    "MAX_FILES": 20,
    "FILES_CONTEXT_SHARE": 0.5,
    # Function calling and notification streams
    "MAX_TOOL_ROUNDS": 5,
    "STREAMS_PER_SESSION": 3,
    "STREAMS_TOTAL": 20,
    "STREAM_MIN_INTERVAL": 10.0,
    "STREAM_MAX_LIFETIME": 24 * 3600.0,
    "STREAM_MAX_FAILURES": 3,
    # Store: compact a session journal once it outgrows its snapshot and this floor.
    "JOURNAL_COMPACT_BYTES": 256 * 1024,
    # How many documents and chat sessions stay loaded in memory (least recently used ones are unloaded).
    "CACHE_DOCUMENTS": 200,
    "CACHE_SESSIONS": 200,
    # Final replies' HTML (and the Markdown it came from) kept for reads, in bytes (chat/reply_cache.py).
    "REPLY_CACHE_BYTES": 4 * 1024 * 1024,
    # Linux/glibc: at most this many malloc arenas (0 = glibc's default, 8 per core); see housekeeping/allocator.py.
    "MALLOC_ARENAS": 2,
    # Websocket
    "WS_PING_INTERVAL": 25,
    "WS_MAX_MESSAGE_SIZE": 256 * 1024,
    "EVENT_BUFFER": 2_000,
    # Events the hub keeps for resuming, all channels together (live/hub.py).
    "HUB_BUFFER_EVENTS": 100_000,
    # Accounts and web security (vice_ai/auth/): "password", "local" or "header".
    "AUTH": "password",
    "SIGNUP": "admin",
    "AUTH_HEADER": "X-Forwarded-User",
    "TRUST_PROXY": 0,
    # Host names requests may use (DNS rebinding); None = localhost names plus LISTEN_HOST, the address
    # run.py listens on. "*" allows any.
    "ALLOWED_HOSTS": None,
    "LISTEN_HOST": None,
    "SECURE_COOKIES": False,
    "SESSION_DAYS": 30,
    "PASSWORD_METHOD": "scrypt",
    "RATE_MESSAGES": "30/minute;300/hour",
    "RATE_SIGNIN": "5/minute;20/hour",
    "RATE_SIGNIN_IP": "20/minute;200/hour",
    "RATE_SIGNIN_USER": "100/hour",
    "RATE_SHARE_MISSES": "10/minute;50/hour",
    # Archive chats inactive this long (0 = never); the job looks every ARCHIVE_INTERVAL seconds.
    "ARCHIVE_AFTER_DAYS": 90,
    "ARCHIVE_INTERVAL": 6 * 3600.0,
    "ARCHIVE_FIRST_DELAY": 60.0,
    # Unset: one process (or several on one host, see README). Set: many workers as one app.
    "REDIS_URL": None,
}


def _flag(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ValueError("use 1 or 0")


def _choice(*allowed: str) -> Callable[[str], str]:
    def convert(value: str) -> str:
        value = value.strip().lower()
        if value not in allowed:
            raise ValueError(f"use one of {', '.join(allowed)}")
        return value

    return convert

# env var -> (config key, conversion)
ENVIRONMENT: dict[str, tuple[str, Callable[[str], Any]]] = {
    "VICE_AI_DATA_DIR": ("DATA_DIR", str),
    "VICE_AI_MAX_BODY_BYTES": ("MAX_CONTENT_LENGTH", int),
    "VICE_AI_MAX_UPLOAD_BYTES": ("MAX_UPLOAD_BYTES", int),
    "OPENAI_API_KEY": ("OPENAI_API_KEY", str),
    "OPENAI_BASE_URL": ("OPENAI_BASE_URL", str),
    "VICE_AI_MODEL": ("MODEL", str),
    "VICE_AI_MODELS": ("MODELS", lambda v: [m.strip() for m in v.split(",") if m.strip()]),
    "VICE_AI_REQUEST_TIMEOUT": ("REQUEST_TIMEOUT", float),
    "VICE_AI_IDLE_TIMEOUT": ("IDLE_TIMEOUT", float),
    "VICE_AI_CONNECT_TIMEOUT": ("CONNECT_TIMEOUT", float),
    "VICE_AI_MAX_RETRY_AFTER": ("MAX_RETRY_AFTER", float),
    "VICE_AI_CONTEXT_TOKENS": ("CONTEXT_TOKENS", int),
    "VICE_AI_MAX_REPLY_TOKENS": ("MAX_REPLY_TOKENS", int),
    "VICE_AI_FILE_MAX_PAGES": ("FILE_MAX_PAGES", int),
    "VICE_AI_FILE_MAX_CHARS": ("FILE_MAX_CHARS", int),
    "VICE_AI_MAX_FILES": ("MAX_FILES", int),
    "VICE_AI_FILES_CONTEXT_SHARE": ("FILES_CONTEXT_SHARE", float),
    "VICE_AI_SECRET_KEY": ("SECRET_KEY", str),
    "VICE_AI_MAX_TOOL_ROUNDS": ("MAX_TOOL_ROUNDS", int),
    "VICE_AI_STREAMS_PER_SESSION": ("STREAMS_PER_SESSION", int),
    "VICE_AI_STREAMS_TOTAL": ("STREAMS_TOTAL", int),
    "VICE_AI_CACHE_DOCUMENTS": ("CACHE_DOCUMENTS", int),
    "VICE_AI_CACHE_SESSIONS": ("CACHE_SESSIONS", int),
    "VICE_AI_REPLY_CACHE_BYTES": ("REPLY_CACHE_BYTES", int),
    "VICE_AI_MALLOC_ARENAS": ("MALLOC_ARENAS", int),
    "VICE_AI_STREAM_MIN_INTERVAL": ("STREAM_MIN_INTERVAL", float),
    "VICE_AI_STREAM_MAX_LIFETIME": ("STREAM_MAX_LIFETIME", float),
    "VICE_AI_AUTH": ("AUTH", _choice("password", "local", "header")),
    "VICE_AI_SIGNUP": ("SIGNUP", _choice("admin", "open")),
    "VICE_AI_AUTH_HEADER": ("AUTH_HEADER", str),
    "VICE_AI_TRUST_PROXY": ("TRUST_PROXY", int),
    "VICE_AI_ALLOWED_HOSTS": ("ALLOWED_HOSTS", lambda v: [h.strip() for h in v.split(",") if h.strip()]),
    "VICE_AI_SECURE_COOKIES": ("SECURE_COOKIES", _flag),
    "VICE_AI_SESSION_DAYS": ("SESSION_DAYS", float),
    "VICE_AI_RATE_MESSAGES": ("RATE_MESSAGES", str),
    "VICE_AI_RATE_SIGNIN": ("RATE_SIGNIN", str),
    "VICE_AI_RATE_SIGNIN_IP": ("RATE_SIGNIN_IP", str),
    "VICE_AI_RATE_SIGNIN_USER": ("RATE_SIGNIN_USER", str),
    "VICE_AI_RATE_SHARE_MISSES": ("RATE_SHARE_MISSES", str),
    "VICE_AI_ARCHIVE_AFTER_DAYS": ("ARCHIVE_AFTER_DAYS", float),
    "VICE_AI_REDIS_URL": ("REDIS_URL", str),
    "VICE_AI_HUB_BUFFER_EVENTS": ("HUB_BUFFER_EVENTS", int),
}


def from_environment(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Read the settings that are present in the environment, converted to their types."""
    source: Mapping[str, str] = os.environ if environ is None else environ
    found: dict[str, Any] = {}
    for var, (key, convert) in ENVIRONMENT.items():
        raw = source.get(var)
        if raw is None or raw == "":
            continue
        try:
            found[key] = convert(raw)
        except ValueError as exc:
            raise SystemExit(f"{var}={raw!r} is not valid: {exc}") from exc
    return found
