"""The tool-call loop shared by chat replies and notification streams.

Ask the model; if it calls tools, run each call with the app's hidden context,
send the results back and ask again, at most `max_rounds` times. The last
round offers no tools, so the model has to answer in text.
"""
from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from ..tools import ToolContext, ToolRegistry

# ask(step, offered tool names) -> (the model's text, its tool calls in wire format)
Ask = Callable[[int, list[str]], tuple[str, list[dict[str, Any]]]]
OnCalls = Callable[[str, list[dict[str, Any]]], str]
OnResult = Callable[[dict[str, Any], str, bool], None]


def _keep(text: str, _calls: list[dict[str, Any]]) -> str:
    return text


def _ignore(*_: Any) -> None:
    return None


def run_tool_loop(ask: Ask, messages: list[dict[str, Any]], *, registry: ToolRegistry, ctx: ToolContext,
                  allowed: list[str], max_rounds: int, cancel: threading.Event,
                  on_calls: OnCalls = _keep, on_result: OnResult = _ignore) -> None:
    """Run rounds until the model answers without tool calls, `cancel` is set, or the rounds run out.

    `messages` (the conversation sent to the model) grows by each tool-calling
    answer and its results; `on_calls` sees an answer that calls tools before
    they run and returns its text as it goes back to the model (as stored,
    redacted); `on_result` sees each call's result.
    """
    for step in range(max_rounds + 1):
        offer = allowed if step < max_rounds else []
        text, calls = ask(step, offer)
        if cancel.is_set() or not calls:
            return
        text = on_calls(text, calls)
        messages.append({"role": "assistant", "content": text, "tool_calls": calls})
        for call in calls:
            function = call["function"]
            result, ok = registry.execute(function["name"], function["arguments"], ctx, offer)
            on_result(call, result, ok)
            messages.append({"role": "tool", "tool_call_id": call["id"], "content": result})
