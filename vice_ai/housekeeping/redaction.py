"""Redaction of secrets from chat messages before they are stored.

What looks like an API key, a token or a private key is replaced by a label
such as "[redacted: api key]". The live reply a user watches (the `delta`
events) keeps the original; everything saved, and so everything the model is
sent on later turns, is redacted. README.md lists the patterns.
"""
from __future__ import annotations

import copy
import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..domain.models import Message

# (label, pattern); the replacement keeps a "Bearer " prefix so the text still reads naturally.
PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("private key", re.compile(
        r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----[\s\S]*?"
        r"(?:-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----|\Z)")),
    ("jwt", re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}")),
    ("token", re.compile(r"(?<=\bBearer )[A-Za-z0-9._~+/-]{16,}=*", re.IGNORECASE)),
    # OpenAI-style keys (sk-..., sk-proj-..., sk-ant-...): 20+ key characters, at least one a digit.
    ("api key", re.compile(r"\bsk-(?=[A-Za-z0-9_-]*\d)[A-Za-z0-9_-]{20,}")),
    ("aws key", re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b")),
    ("github token", re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{22,})")),
    ("slack token", re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}")),
    ("google api key", re.compile(r"\bAIza[0-9A-Za-z_-]{35}")),
]


def redact(text: str) -> str:
    """The text with every secret-looking string replaced by "[redacted: <kind>]"."""
    if not text:
        return text
    for label, pattern in PATTERNS:
        text = pattern.sub(f"[redacted: {label}]", text)
    return text


def _settled(text: str) -> str:
    """A streaming reply up to its last whitespace: a half-arrived key is not yet recognisable."""
    if not text or text[-1].isspace():
        return text
    cut = max(text.rfind(" "), text.rfind("\n"), text.rfind("\t"))
    return text[:cut + 1]


def redact_message(message: Message) -> Message:
    """A copy of a message fit to store: content and tool-call arguments redacted.

    A reply still streaming is stored only up to its last whitespace, so a key
    cut in half by a checkpoint never reaches the disk unredacted.
    """
    stored = copy.copy(message)
    content = message.content or ""
    if message.status == "streaming":
        content = _settled(content)
    stored.content = redact(content)
    if message.tool_calls:
        calls = copy.deepcopy(message.tool_calls)
        for call in calls:
            function = call.get("function") or {}
            if isinstance(function.get("arguments"), str):
                function["arguments"] = redact(function["arguments"])
        stored.tool_calls = calls
    return stored
