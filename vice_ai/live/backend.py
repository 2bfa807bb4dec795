"""Which hub and document feed the app runs: in this process only (the default), or shared on Redis."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .document_feed import DocumentFeed
from .hub import Hub


def hub_for(cfg: Mapping[str, Any]) -> Hub:
    """`RedisHub` when `REDIS_URL` is set (every process one app), else the embedded `Hub`."""
    if cfg.get("REDIS_URL"):
        from .redis_hub import RedisHub  # imports redis only when it is used
        return RedisHub(cfg["REDIS_URL"], cfg["EVENT_BUFFER"], total_events=cfg["HUB_BUFFER_EVENTS"])
    return Hub(cfg["EVENT_BUFFER"], total_events=cfg["HUB_BUFFER_EVENTS"])


def feed_for(hub: Hub) -> type[DocumentFeed]:
    """The document feed that goes with `hub`: with Redis, the outlines are shared too."""
    if getattr(hub, "bus", None) is not None:
        from .redis_feed import RedisDocumentFeed
        return RedisDocumentFeed
    return DocumentFeed
