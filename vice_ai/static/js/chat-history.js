// ChatPane methods for a long chat: the server sends the newest page of the branch shown (GET /api/sessions/<id>
// answers at most 50 messages and `has_more`); scrolling near the top asks for the page before the oldest
// message shown (`?before=`) and puts it above, keeping what the user looks at in place. A line at the top says
// that older messages remain, that they are loading, or that loading failed (with "Try again": a server that is
// away is not asked again on every scroll).
import { get } from "./api.js";
import { el } from "./ui.js";
import { MessageView } from "./chat-message-view.js";

const PAGE = 50;
export const MAX_PAGE = 200; // the most GET /api/sessions/<id> answers at once
const NEAR_TOP_PX = 200;

export const historyMethods = {
  /** Remember where the loaded part of the branch starts (called with each first page). */
  setHistory(data) {
    this.oldestId = data.messages.length ? data.messages[0].id : null;
    this.hasMore = Boolean(data.has_more);
    this.loadingOlder = null;
    this.olderFailed = null;
    this.showMoreMarker();
  },

  /** The line at the top of the list while older messages remain; the view stays on what the user sees (at the
   * very top, the line is what they see: it stays whole). */
  showMoreMarker() {
    const atTop = this.list.scrollTop === 0 && !this.stick;
    this.keepView(() => {
      this.list.querySelectorAll(".older-marker").forEach((n) => n.remove());
      if (!this.hasMore || !this.order.length) return;
      let marker;
      if (this.olderFailed) {
        marker = el("div", { class: "older-marker older-failed small", role: "alert" },
          el("span", { text: `Could not load older messages: ${this.olderFailed}` }),
          el("button", { class: "btn btn-small", type: "button", text: "Try again", onclick: () => this.retryOlder() }));
      } else if (this.loadingOlder) {
        marker = el("div", { class: "older-marker older-loading muted small", role: "status", text: "Loading older messages…" });
      } else {
        marker = el("div", { class: "older-marker muted small", text: "Older messages load as you scroll up…" });
      }
      this.list.prepend(marker);
    });
    if (atTop) this.list.scrollTop = 0;
  },

  /** Change the list above what is in view without moving it: at the end it stays at the end, else in place. */
  keepView(change) {
    const height = this.list.scrollHeight;
    const top = this.list.scrollTop;
    change();
    if (this.stick) this.list.scrollTop = this.list.scrollHeight;
    else this.list.scrollTop = top + (this.list.scrollHeight - height);
  },

  /** Where the user reads, when not at the end: the first message in view, and how many messages are loaded. */
  readingPlace() {
    if (this.stick || !this.order.length) return null;
    const top = this.list.getBoundingClientRect().top;
    const node = [...this.list.querySelectorAll(".msg[data-id]")].find((n) => n.getBoundingClientRect().bottom > top);
    if (!node) return null;
    const limit = Math.min(MAX_PAGE, Math.max(PAGE, this.pathTo(this.leaf).length));
    return { id: node.dataset.id, offset: node.getBoundingClientRect().top - top, limit };
  },

  /** The chat shown again (after a restart): the same message at the same place, if it is still there. */
  returnTo(place) {
    const view = this.views.get(place.id);
    if (!view) return;
    const top = this.list.getBoundingClientRect().top;
    this.stick = false;
    this.list.scrollTop += view.node.getBoundingClientRect().top - top - place.offset;
    this.jump.hidden = false;
  },

  /** From the list's scroll listener: near the top with more to load, load the page before. */
  maybeLoadOlder() {
    if (this.hasMore && !this.loadingOlder && !this.olderFailed && this.list.scrollTop < NEAR_TOP_PX) this.loadOlder();
  },

  /** "Try again" after a failed load. */
  retryOlder() {
    this.olderFailed = null;
    return this.loadOlder();
  },

  /** Fetch the messages before the oldest one shown and put them above it; one fetch at a time. */
  loadOlder() {
    if (!this.session || !this.hasMore || !this.oldestId || this.loadingOlder) return this.loadingOlder;
    const id = this.session.id;
    const before = this.oldestId;
    const url = `/api/sessions/${id}?limit=${PAGE}&before=${encodeURIComponent(before)}`;
    const current = () => this.session && this.session.id === id && this.oldestId === before; // not another chat or reload
    const loading = get(url).then((data) => {
      if (!current()) return;
      this.loadingOlder = null;
      this.prependOlder(data.messages, Boolean(data.has_more));
    }, (err) => {
      if (!current()) return;
      this.loadingOlder = null;
      if (err.status === 404) this.hasMore = false; // the message is gone
      else this.olderFailed = err.status === 0 ? "the server cannot be reached." : err.message;
      this.showMoreMarker();
    });
    this.loadingOlder = loading;
    this.showMoreMarker();
    return loading;
  },

  /** Older messages (oldest first) above the shown ones, the scroll position kept on what was in view. */
  prependOlder(messages, hasMore) {
    const fresh = messages.filter((m) => !this.tree.has(m.id));
    if (messages.length) this.oldestId = messages[0].id;
    this.hasMore = hasMore && messages.length > 0;
    this.keepView(() => {
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
    });
    this.showMoreMarker();
  },
};
