// ChatPane methods that keep the branch a user chose, and its place on screen (see chat-branches.js).
// - A switch (‹ ›) on any message, one from an older page too, shows the new branch with the messages above it kept
//   (they are the same) and the sibling where the switched message was; older pages still load on scrolling up.
// - A writer's switch is the chat's `active_leaf`, saved on the server; the chat's other tabs follow it live
//   (`branch_changed`), in place. A reader may not change it: their branch is kept in this browser (localStorage,
//   by chat), so a reload, a server restart and every tab show it again, and neither live messages on other
//   branches nor a writer's switch take them away from it.
import { get } from "./api.js";
import { toast } from "./ui.js";
import { MAX_PAGE } from "./chat-history.js";

const MAX_GAP_PAGES = 10; // a branch longer than this many pages below the switch opens at its end instead

const keyOf = (id) => `vice.branch.${id}`;

export const branchKeepMethods = {
  /** After a switch: remember a reader's branch in this browser (a writer's is the chat's, on the server). */
  keepBranch(data) {
    try {
      if (data.access === "read" && data.shown_leaf && data.shown_leaf !== data.active_leaf) {
        localStorage.setItem(keyOf(data.id), data.shown_leaf);
      } else {
        localStorage.removeItem(keyOf(data.id));
      }
    } catch (err) { /* storage turned off: the branch is not kept */ }
  },

  /** The branch a reader chose in this browser for chat `id` (its last message's id), or null. */
  keptBranch(id) {
    try { return localStorage.getItem(keyOf(id)); } catch (err) { return null; }
  },

  /** Whether the open chat shows a branch its reader chose (not the chat's active one). */
  keepsBranch() {
    if (this.viewsFound()) return true; // a branch viewed from a search (chat-found.js)
    return Boolean(this.session && !this.canWriteChat && this.keptBranch(this.session.id));
  },

  /** GET a page of chat `id`: on the branch this browser's reader chose, when there is one, else the active one. */
  async fetchShown(id, limit = null) {
    const url = (leaf) => {
      const query = new URLSearchParams();
      if (limit) query.set("limit", limit);
      if (leaf) query.set("leaf", leaf);
      const text = query.toString();
      return `/api/sessions/${id}${text ? `?${text}` : ""}`;
    };
    const found = this.foundLeaf(id); // a message a search found, or the branch viewed through it (chat-found.js)
    if (found) {
      try {
        return await this.fetchThrough(id, found, limit);
      } catch (err) {
        if (err.status !== 404) throw err;
        this.endView(); // the message is gone: the chat as it is
      }
    }
    const kept = this.keptBranch(id);
    if (kept) {
      try {
        const data = await get(url(kept));
        if (data.access === "read") return data;
      } catch (err) {
        if (err.status !== 404) throw err;
      }
      this.keepBranch({ id }); // gone, or the user may write the chat now: its active branch is theirs
    }
    return get(url(null));
  },

  /** The chat as the server sent it after missed events (a `sync`): on the reader's branch when they chose one. */
  synced(session) {
    const kept = this.foundLeaf(session.id) || (session.access === "read" && this.keptBranch(session.id));
    if (!kept || kept === session.shown_leaf) { this.renderSession(session); return; }
    this.fetchShown(session.id).then((data) => {
      if (this.session && this.session.id === data.id) this.renderSession(data);
    }, () => this.renderSession(session));
  },

  /**
   * `branch_changed`: a writer switched the chat's active branch (another tab, or another writer). Shown here too,
   * in place: the branch chosen takes the place of the shown message it is a sibling of; a list at its end stays
   * at its end. Not for a reader keeping a branch of their own, nor this tab's own switch; a message being edited
   * here is not thrown away (a toast offers the switch). The composer's text is never touched.
   */
  async branchChanged(event) {
    if (!this.session || this.keepsBranch() || this.switching || this.leaf === event.active_leaf) return;
    if (this.list.querySelector(".edit-input")) {
      toast("The chat's active branch was switched elsewhere.", { key: "branch-changed", timeout: 0,
        action: { label: "Show it", run: () => this.branchChanged(event) } });
      return;
    }
    const id = this.session.id;
    const target = event.message_id;
    const shown = [...this.views.values()].find((view) => this.siblingsOf(view.data).includes(target));
    const offset = shown ? shown.node.getBoundingClientRect().top - this.list.getBoundingClientRect().top : null;
    const atEnd = this.stick;
    let data;
    try {
      data = await this.fetchShown(id);
    } catch (err) {
      return; // the next event, a reconnection or a reload shows it
    }
    if (!this.session || this.session.id !== id || this.switching || this.keepsBranch()) return;
    await this.showSwitched(data, target, shown ? offset : null);
    if (atEnd) { this.stick = true; this.scrollDown(true); }
  },

  /**
   * Show the branch a switch chose (`data`: its newest page) with what is loaded above `target` kept (the same
   * messages: `target` has the switched message's parent), `target` at `offset` px from the list's top where the
   * switched message was. The pages up to `target` are fetched first; a branch too long for that opens at its end.
   */
  async showSwitched(data, target, offset) {
    const id = data.id;
    let messages = data.messages;
    let more = data.has_more;
    const reached = () => messages.some((m) => m.id === target);
    for (let i = 0; offset !== null && more && messages.length && !reached() && i < MAX_GAP_PAGES; i += 1) {
      let page;
      try {
        page = await get(`/api/sessions/${id}?limit=${MAX_PAGE}&before=${encodeURIComponent(messages[0].id)}`);
      } catch (err) {
        break; // the switch is done: its newest page, at its end
      }
      if (!this.session || this.session.id !== id) return;
      [messages, more] = [[...page.messages, ...messages], page.has_more];
    }
    const at = messages.findIndex((m) => m.id === target);
    if (offset === null || at < 0) { this.renderSession(data); return; }
    const fresh = messages.slice(at); // the branch from `target` down; above it, what is loaded stays
    this.session = data;
    if (data.access && data.access !== this.chatAccess) { this.chatAccess = data.access; this.applyAccess(); }
    for (const m of fresh) { this.parents.set(m.id, m.parent_id); this.tree.set(m.id, m); }
    this.tools.loaded({ ...data, messages: fresh });
    this.leaf = data.shown_leaf || data.active_leaf || target;
    const path = this.pathTo(this.leaf);
    if (path.length) this.oldestId = path[0].id; // the same, or `target` when the switched message was the oldest
    this.stick = false;
    this.showPath();
    this.returnTo({ id: target, offset }); // chat-history.js
    this.stick = this.nearEnd();
    this.jump.hidden = this.stick;
    this.setGenerating(Boolean(data.generating));
    if (!this.generating) this.tools.settle();
    if (this.hasMore && this.list.scrollHeight <= this.list.clientHeight) this.loadOlder();
    else this.maybeLoadOlder();
  },
};
