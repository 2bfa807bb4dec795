"""A chat's variables: named JSON values that later turns and tools read, bounded so any stored value reads back.

The same rules hold for variables set over the API and by the model's
`set_session_variable` tool.
"""
from __future__ import annotations

import json
import math
import re
from typing import Any

MAX_VARIABLES = 100
MAX_VARIABLE_DEPTH = 8
MAX_VARIABLES_BYTES = 64 * 1024
VARIABLE_NAME = r"^[A-Za-z_][A-Za-z0-9_]{0,63}$"
_NAME = re.compile(VARIABLE_NAME)


def valid_name(name: str) -> bool:
    return bool(_NAME.fullmatch(name))


def value_problem(value: Any, max_depth: int = MAX_VARIABLE_DEPTH) -> str | None:
    """Why a JSON value cannot be stored as a variable, or None. Scalars are depth 0, `[]` and `{}` depth 1."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, float) and not math.isfinite(item):
            return "holds a number too large for JSON"
        if isinstance(item, (list, dict)):
            if depth + 1 > max_depth:
                return f"is nested more than {max_depth} levels deep"
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
    return None


def size_of(variables: dict[str, Any]) -> int:
    """Bytes of the variables as compact UTF-8 JSON."""
    return len(json.dumps(variables, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))
