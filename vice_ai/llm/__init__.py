"""The model service: picks the backend from the configuration and resolves model names."""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from typing import Any, cast

from ..errors import ModelError
from .base import Backend, ChatRequest, PushingBackend, Sink
from .offline import OFFLINE_MODEL, OfflineBackend

log = logging.getLogger(__name__)

MODELS_TTL = 300.0
# A failed /models call is asked again sooner: the server may just be starting.
MODELS_FAILURE_TTL = 15.0


class LLMService:
    """Chat completions from the configured OpenAI-compatible server, or the offline assistant."""

    def __init__(self, cfg: Mapping[str, Any]) -> None:
        self.backend: Backend
        self._lock = threading.Lock()
        if cfg.get("LLM_BACKEND") is not None:  # tests and embedders may hand one in
            self.backend = cfg["LLM_BACKEND"]
            self.default_model = cfg.get("MODEL") or self.backend.models()[0]
        elif cfg.get("OPENAI_API_KEY") or cfg.get("OPENAI_BASE_URL"):
            from .openai_backend import OpenAIBackend

            self.backend = OpenAIBackend.from_config(cfg)
            self.default_model = cfg["MODEL"]
        else:
            self.backend = OfflineBackend()
            self.default_model = OFFLINE_MODEL
        self._configured_models: list[str] | None = cfg.get("MODELS") if not self.backend.offline else None
        self._models_cache: tuple[float, list[str]] | None = None

    @property
    def offline(self) -> bool:
        return bool(self.backend.offline)

    @property
    def notice(self) -> str | None:
        """What the backend says beside each of its replies (the offline assistant: how to connect a model)."""
        note = getattr(self.backend, "notice", None)
        return note if isinstance(note, str) else None

    def models(self) -> list[str]:
        """Models a user may pick: the configured list, else the server's (cached), else the default."""
        if self._configured_models:
            names = list(self._configured_models)
        else:
            with self._lock:
                cached = self._models_cache
            if cached and time.monotonic() < cached[0]:
                names = list(cached[1])
            else:
                try:
                    names = self.backend.models()
                    expires = time.monotonic() + MODELS_TTL
                except ModelError as exc:
                    log.warning("could not list models: %s", exc.message)
                    names = []
                    expires = time.monotonic() + MODELS_FAILURE_TTL
                with self._lock:
                    self._models_cache = (expires, names)
        if self.default_model not in names:
            names = [self.default_model, *names]
        return names

    def describe(self) -> dict[str, Any]:
        return {"default": self.default_model, "offline": self.offline, "models": self.models()}

    def resolve(self, requested: str | None) -> tuple[str, str | None]:
        """The model to use and, when the requested one is not available, a note saying so."""
        if not requested or requested == self.default_model:
            return self.default_model, None
        if requested in self.models():
            return requested, None
        note = f"Model \u201c{requested}\u201d is not available; answered with \u201c{self.default_model}\u201d."
        return self.default_model, note

    def deliver(self, request: ChatRequest, cancel: threading.Event, sink: Sink) -> None:
        """Pass every chunk of the reply to `sink` until it ends or `cancel` is set; raises its failure.

        The sink may be called from the reactor's thread (one thread reads every model stream: no
        thread wake-up per token), so it must not block.
        """
        if getattr(self.backend, "pushes", False):
            chunks = cast(PushingBackend, self.backend).stream(request, cancel, sink)
        else:
            chunks = self.backend.stream(request, cancel)
        for chunk in chunks:
            if cancel.is_set():
                return
            sink(chunk)
