// ChatPane methods for a long chat: the server sends the newest page of the branch shown (GET /api/sessions/<id>
// answers at most 50 messages and `has_more`); scrolling near the top asks for the page before the oldest
// message shown (`?before=`) and puts it above, keeping what the user looks at in place.
import { get } from "./api.js";
import { el, toast } from "./ui.js";
import { MessageView } from "./chat-message-view.js";

const PAGE = 50;
const NEAR_TOP_PX = 200;

export const historyMethods = {
  /** Remember where the loaded part of the branch starts (called with each first page). */
  setHistory(data) {
    this.oldestId = data.messages.length ? data.messages[0].id : null;
    this.hasMore = Boolean(data.has_more);
    this.loadingOlder = null;
    this.showMoreMarker();
  },

  /** A quiet line at the top of the list while older messages remain. */
  showMoreMarker() {
    this.list.querySelectorAll(".older-marker").forEach((n) => n.remove());
    if (this.hasMore && this.order.length) {
      this.list.prepend(el("div", { class: "older-marker muted small", text: "Older messages load as you scroll up…" }));
    }
  },

  /** From the list's scroll listener: near the top with more to load, load the page before. */
  maybeLoadOlder() {
    if (this.hasMore && !this.loadingOlder && this.list.scrollTop < NEAR_TOP_PX) this.loadOlder();
  },

  /** Fetch the messages before the oldest one shown and put them above it; one fetch at a time. */
  loadOlder() {
    if (!this.session || !this.hasMore || !this.oldestId || this.loadingOlder) return this.loadingOlder;
    const id = this.session.id;
    const before = this.oldestId;
    const url = `/api/sessions/${id}?limit=${PAGE}&before=${encodeURIComponent(before)}`;
    this.loadingOlder = get(url).then((data) => {
      if (!this.session || this.session.id !== id || this.oldestId !== before) return; // another chat or reload
      this.prependOlder(data.messages);
      this.hasMore = Boolean(data.has_more);
      this.showMoreMarker();
    }, (err) => {
      if (err.status === 404) { this.hasMore = false; this.showMoreMarker(); return; } // the message is gone
      toast(`Could not load older messages: ${err.message}`, { kind: "error" });
    }).finally(() => { this.loadingOlder = null; });
    return this.loadingOlder;
  },

  /** Older messages (oldest first) above the shown ones, the scroll position kept on what was in view. */
  prependOlder(messages) {
    const fresh = messages.filter((m) => !this.tree.has(m.id));
    if (!messages.length) return;
    this.oldestId = messages[0].id;
    const height = this.list.scrollHeight;
    const top = this.list.scrollTop;
    const first = this.list.querySelector(".msg");
    const ids = [];
    for (const m of fresh) {
      this.parents.set(m.id, m.parent_id);
      this.tree.set(m.id, m);
      if (m.role !== "user" && m.role !== "assistant") continue;
      const view = new MessageView(this, m);
      this.views.set(m.id, view);
      ids.push(m.id);
      this.list.insertBefore(view.node, first);
    }
    this.order = [...ids, ...this.order];
    this.refreshAll();
    this.list.scrollTop = top + (this.list.scrollHeight - height);
  },
};
