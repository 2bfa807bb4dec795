"""Redaction of secrets from what is stored with a chat, before it is stored.

What looks like an API key, a token or a private key is replaced by a label
such as "[redacted: api key]": in messages and tool-call arguments, chat
titles, system prompts, variables (any depth), context documents, stream goals
and notifications, suggestions. The user's document (sections) is not
redacted. The live reply a user watches (the `delta` events) keeps the
original; everything saved, and so everything the model is sent on later
turns, is redacted. README.md lists the patterns and where they apply.
"""
from __future__ import annotations

import copy
import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..domain.models import Message

# A secret starts where no letter or digit is just before it. Not `\b`: "_" is a word character, so
# `my_sk-proj-...` or `key_AKIA..._x` have no word boundary around the key.
_START = r"(?<![A-Za-z0-9])"
_END = r"(?![A-Za-z0-9])"

# (label, pattern); a pattern's `keep` group stays (so "Bearer " still reads naturally).
PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("private key", re.compile(
        r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----[\s\S]*?"
        r"(?:-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----|\Z)")),
    ("jwt", re.compile(_START + r"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}")),
    # "Bearer" then spaces, tabs, ":" or "=" (`Authorization:Bearer:<token>`), then 16+ token characters.
    ("token", re.compile(r"(?P<keep>" + _START + r"Bearer[ \t:=]+)[A-Za-z0-9._~+/-]{16,}=*", re.IGNORECASE)),
    # OpenAI-style keys (sk-..., sk-proj-..., sk-ant-...): 20+ key characters, at least one a digit.
    ("api key", re.compile(_START + r"sk-(?=[A-Za-z0-9_-]*\d)[A-Za-z0-9_-]{20,}")),
    ("aws key", re.compile(_START + r"(?:AKIA|ASIA)[0-9A-Z]{16}" + _END)),
    ("github token", re.compile(_START + r"(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{22,})")),
    ("slack token", re.compile(_START + r"xox[abposr]-[A-Za-z0-9-]{10,}")),
    ("google api key", re.compile(_START + r"AIza[0-9A-Za-z_-]{35}")),
]


def redact(text: str, keep: str = "") -> str:
    """The text with every secret-looking string replaced by "[redacted: <kind>]".

    A secret that also occurs in `keep` stays: a proposed section text may hold
    what the section already says (the user's document is not redacted).
    """
    if not text:
        return text
    for label, pattern in PATTERNS:
        def replace(match: re.Match[str], label: str = label) -> str:
            prefix = match.groupdict().get("keep") or ""
            secret = match.group(0)[len(prefix):]
            if keep and secret in keep:
                return match.group(0)
            return f"{prefix}[redacted: {label}]"
        text = pattern.sub(replace, text)
    return text


def redact_json(value: Any) -> Any:
    """A JSON value with every string in it (object keys too, at any depth) redacted; a copy."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, list):
        return [redact_json(item) for item in value]
    if isinstance(value, dict):
        return {redact(key) if isinstance(key, str) else key: redact_json(item) for key, item in value.items()}
    return value


def redact_variables(variables: dict[str, Any]) -> dict[str, Any]:
    """A chat's variables with their values redacted; the names are identifiers (letters, digits, _) and stay."""
    return {name: redact_json(value) for name, value in variables.items()}


# What a secret still arriving may end with: a run of key characters, after "Bearer" and its separator if any.
_OPEN_TAIL = re.compile(r"(?:Bearer[ \t:=]*)?[A-Za-z0-9._~+/=_-]*\Z", re.IGNORECASE)
_BEGIN, _KEY_END = "-----BEGIN", re.compile(r"-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----")


def settled(text: str) -> int:
    """How much of a streaming text can be redacted on its own: the end of `text` minus a tail that could be
    (the start of) a secret still arriving (a run of key characters, "Bearer ..." with its token, a private key
    block without its end). No secret can span the cut, so redacting the pieces between cuts one by one gives
    what redacting their whole gives; the tail waits for more text (or the end of the reply)."""
    cut = _OPEN_TAIL.search(text).start()  # type: ignore[union-attr]  # matches at the end at least
    begin = text.rfind(_BEGIN, 0, cut)
    if begin >= 0:
        end = _KEY_END.search(text, begin)
        if end is None or end.end() > cut:
            cut = begin
    return cut


def redact_message(message: Message) -> Message:
    """A copy of a message fit to store: content and tool-call arguments redacted.

    A reply still streaming is stored only up to what is `settled`, so a key
    cut in half by a checkpoint never reaches the disk unredacted.
    """
    stored = copy.copy(message)
    content = message.content or ""
    if message.status == "streaming":
        content = content[:settled(content)]
    stored.content = redact(content)
    if message.tool_calls:
        calls = copy.deepcopy(message.tool_calls)
        for call in calls:
            function = call.get("function") or {}
            if isinstance(function.get("arguments"), str):
                function["arguments"] = redact(function["arguments"])
        stored.tool_calls = calls
    return stored
