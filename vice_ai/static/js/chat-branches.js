// ChatPane methods for the branches of a chat: the loaded messages kept in a tree (by parent_id), the active branch shown,
// "‹ 2 / 3 ›" between siblings, Edit on the user's messages and Regenerate on replies. See README "Branches".
// A switch keeps the message switched where it is on screen; a reader's branch (who may not change the chat's) is
// kept in this browser, so a reload, a server restart or another tab shows it again (chat-branch-keep.js).
import { get, patch } from "./api.js";
import { el, toast } from "./ui.js";
import { selectionOf } from "./selection.js";

export const branchMethods = {
  /** Forget the tree (another chat, or a fresh load). */
  resetTree() {
    this.tree = new Map(); // message id -> message: the pages loaded and what live events brought
    this.leaf = null;
  },

  /** The chat as loaded: the newest page of the branch shown (it ends at `shown_leaf`); older pages come later. */
  loadTree(data) {
    this.resetTree();
    for (const m of data.messages) this.tree.set(m.id, m);
    this.leaf = data.shown_leaf || data.active_leaf || (data.messages.length ? data.messages[data.messages.length - 1].id : null);
  },

  /** The messages from the first to `id`. */
  pathTo(id) {
    const path = [];
    const seen = new Set();
    for (let m = id ? this.tree.get(id) : null; m && !seen.has(m.id); m = m.parent_id ? this.tree.get(m.parent_id) : null) {
      seen.add(m.id);
      path.push(m);
    }
    return path.reverse();
  },

  /** The active branch's user and assistant messages, as the list shows them. */
  visiblePath() {
    return this.pathTo(this.leaf).filter((m) => m.role === "user" || m.role === "assistant");
  },

  /** The ids of the messages with the same parent and role as `m` (itself included), oldest first: the server
   * says (`sibling_ids`), and new ones from live events are added to it. */
  siblingsOf(m) {
    const known = this.tree.get(m.id) || m; // a live event's copy has no sibling_ids: the tree's has
    return known.sibling_ids && known.sibling_ids.includes(m.id) ? known.sibling_ids : [m.id];
  },

  /** A new message joins its siblings' list (those loaded share one list). */
  addSibling(message) {
    const parent = message.parent_id || null;
    const peer = [...this.tree.values()].find((x) => x.id !== message.id && x.role === message.role
      && (x.parent_id || null) === parent && x.sibling_ids);
    const ids = peer ? [...peer.sibling_ids.filter((id) => id !== message.id), message.id] : [message.id];
    for (const id of ids) { const x = this.tree.get(id); if (x) x.sibling_ids = ids; }
    message.sibling_ids = ids;
  },

  /**
   * A message from a live event. Returns true when it was placed here: a message of a branch not shown
   * (only remembered), or the first of a new branch (edit, regenerate), shown with the branch it starts.
   */
  trackLive(message) {
    if (this.rendering) return false;
    const known = this.tree.has(message.id);
    if (!known) this.addSibling(message);
    this.tree.set(message.id, known ? { ...this.tree.get(message.id), ...message } : message);
    if (known) return !this.views.has(message.id) && (message.role === "user" || message.role === "assistant");
    const branch = this.leaf !== null && message.parent_id !== this.leaf;
    if (branch && this.keepsBranch()) { // a reader stays on the branch they chose (chat-branch-keep.js); a new version
      const parent = message.parent_id || null; // of a message shown counts in its "‹ 1 / 3 ›"
      for (const view of this.views.values()) {
        if (view.data.role === message.role && (view.data.parent_id || null) === parent) view.render();
      }
      return true;
    }
    this.leaf = message.id;
    if (branch) this.showPath();
    return branch;
  },

  /** Render the active branch again (after a switch or a new branch). */
  showPath() {
    this.rendering = true;
    try {
      this.views.clear();
      this.order = [];
      this.list.replaceChildren();
      this.autoTop = 0; // (chat-messages.js scrollDown)
      for (const m of this.visiblePath()) this.upsert(m);
    } finally {
      this.rendering = false;
    }
    this.refreshAll();
    this.showMoreMarker(); // chat-history.js
  },

  /** The first message of a chat named it: show the new title. */
  titled(title) {
    if (!title || !this.session) return;
    this.session.title = title;
    const summary = this.sessions.find((s) => s.id === this.session.id);
    if (summary) summary.title = title;
    this.renderSessions();
  },

  /** Switch to the sibling `step` away from a shown message (saved for the chat when the user may write it, else
   * in this browser); the sibling takes its place on screen. */
  async goSibling(m, step) {
    if (this.generating) { toast("A reply is still being written. Stop it or wait for it to finish."); return; }
    const siblings = this.siblingsOf(m);
    const target = siblings[siblings.indexOf(m.id) + step];
    if (!target) return;
    const view = this.views.get(m.id);
    const offset = view ? view.node.getBoundingClientRect().top - this.list.getBoundingClientRect().top : null;
    this.switching = true; // its own branch_changed event is this answer's (chat-branch-keep.js)
    try {
      const id = this.session.id;
      // A reader looks around without changing the chat: the page of the branch through that message.
      const data = this.canWriteChat ? await patch(`/api/sessions/${id}`, { active_leaf: target })
        : await get(`/api/sessions/${id}?leaf=${encodeURIComponent(target)}`);
      if (!this.session || this.session.id !== data.id) return;
      this.keepBranch(data); // chat-branch-keep.js
      this.endView(); // a branch viewed from a search is left for the one chosen (chat-found.js)
      await this.showSwitched(data, target, offset);
    } catch (err) {
      toast(`Could not switch branches: ${err.message}`, { kind: "error" });
    } finally {
      this.switching = false;
    }
  },

  /** A new reply beside this one, to the same question. */
  regenerate(m) {
    if (this.generating || !this.canWriteChat) return;
    this.list.querySelectorAll(".orphan-error").forEach((n) => n.remove());
    if (!this.socket || !this.socket.send({ type: "retry", message_id: m.id })) {
      toast("Not connected to the server — reconnecting.", { kind: "error" });
    } else this.endView(); // its new branch is the chat's, and shown (chat-found.js)
  },

  /** Edit a question in place; sending it makes a new branch beside the old one. */
  editMessage(view) {
    if (this.generating) { toast("A reply is still being written. Stop it or wait for it to finish."); return; }
    const m = view.data;
    const box = el("textarea", { class: "edit-input", rows: 3, "aria-label": "Edit your message" });
    box.value = m.content;
    // The message is drawn again without the box: the keyboard goes back to its Edit button (not to the page).
    const cancel = () => { view.render(); const again = view.node.querySelector(".edit-btn"); if (again) again.focus(); };
    const send = () => {
      const text = box.value;
      if (!text.trim()) return;
      if (this.generating) { toast("A reply is still being written. Stop it or wait for it to finish."); return; }
      this.lastSent = null;
      const ref = selectionOf(m); // an edited question is about the same passage
      if (!this.socket || !this.socket.send({ type: "send", content: text, parent_id: m.parent_id || null, ...(ref ? { references: [ref] } : {}) })) {
        toast("Not connected to the server — reconnecting. Your edit is still in the box.", { kind: "error" });
        return;
      }
      this.endView(); // a branch viewed from a search: the new branch is the chat's, and shown (chat-found.js)
      view.render();
      this.input.focus(); // the new branch is drawn next: write on from the composer
    };
    box.addEventListener("keydown", (ev) => {
      if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing) { ev.preventDefault(); send(); }
      if (ev.key === "Escape") { ev.preventDefault(); cancel(); }
    });
    view.node.replaceChildren(el("div", { class: "msg-edit" }, box, el("div", { class: "msg-actions" },
      el("button", { class: "btn btn-small", type: "button", text: "Cancel", onclick: cancel }),
      el("button", { class: "btn btn-small btn-primary", type: "button", text: "Send", onclick: send }))));
    box.focus();
  },

  /** "‹ 2 / 3 ›" for a message with siblings, and Edit (questions) or Regenerate (replies). */
  branchBar(view) {
    const m = view.data;
    const siblings = this.siblingsOf(m);
    const index = siblings.indexOf(m.id);
    const parts = [];
    if (siblings.length > 1) {
      parts.push(el("span", { class: "branch-nav", role: "group", "aria-label": "Versions" },
        el("button", { class: "btn btn-small btn-ghost branch-btn branch-prev", type: "button", text: "‹", "aria-label": "Previous version", disabled: index <= 0, onclick: () => this.goSibling(m, -1) }),
        el("span", { class: "branch-count", text: `${index + 1} / ${siblings.length}` }),
        el("button", { class: "btn btn-small btn-ghost branch-btn branch-next", type: "button", text: "›", "aria-label": "Next version", disabled: index >= siblings.length - 1, onclick: () => this.goSibling(m, 1) })));
    }
    if (this.canWriteChat && m.role === "user") {
      parts.push(el("button", { class: "btn btn-small btn-ghost branch-btn edit-btn", type: "button", text: "Edit", title: "Edit and send again as a new branch (the old one is kept)", onclick: () => this.editMessage(view) }));
    }
    if (this.canWriteChat && m.role === "assistant" && m.status !== "streaming") {
      parts.push(el("button", { class: "btn btn-small btn-ghost branch-btn regenerate-btn", type: "button", text: "Regenerate", title: "A new reply to the same question (this one is kept)", onclick: () => this.regenerate(m) }));
    }
    return parts.length ? el("span", { class: "branch-bar" }, ...parts) : null;
  },
};
