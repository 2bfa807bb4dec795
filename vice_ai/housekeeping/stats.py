"""Usage statistics for admins: sessions, active users, messages per model."""
from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from ..domain.models import parse_time

if TYPE_CHECKING:
    from ..accounts.users import Accounts
    from ..domain.state import AppState

ACTIVE_WINDOW = timedelta(days=1)


def _recent(ts: str | None, since: datetime) -> bool:
    if not ts:
        return False
    return parse_time(ts) >= since


def collect_stats(state: AppState, accounts: Accounts, mode: str) -> dict[str, Any]:
    """Counts over every stored session and account (read from disk: admins ask rarely)."""
    sessions = archived = messages = 0
    by_model: dict[str, Counter[str]] = {}
    documents = state.list_documents()
    # Only the sessions a section lists: one a crash left behind unlisted is absent everywhere.
    listed = {sid for doc in documents for section in doc.sections for sid in section.session_ids}
    for session_id in state.store.ids("sessions"):
        data = state.session_dict(session_id) if session_id in listed else None
        if data is None:
            continue
        sessions += 1
        archived += bool(data.get("archived"))
        for message in data["messages"]:
            if message["role"] in ("user", "assistant"):
                messages += 1
            if message["role"] != "assistant":
                continue
            counts = by_model.setdefault(message.get("model") or "unknown", Counter())
            counts["generations"] += 1  # every model call, tool-call steps and failures too
            if not message.get("tool_calls") and message["status"] != "error":
                counts["messages"] += 1  # replies that reached the user
    users = [accounts.local_user()] if mode == "local" else accounts.all()
    since = datetime.now(UTC) - ACTIVE_WINDOW
    return {
        "documents": len(documents),
        "sessions": sessions,
        "archived_sessions": archived,
        "messages": messages,
        "users": len(users),
        "active_users": sum(_recent(u.last_activity, since) for u in users),
        "models": {name: {"messages": c["messages"], "generations": c["generations"]}
                   for name, c in sorted(by_model.items())},
    }
