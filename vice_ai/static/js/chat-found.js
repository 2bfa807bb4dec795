// ChatPane methods that show a message a search found (search.js; also "Open the message" in blame.js: document.js
// passes on the hash's `message`) where it is: on its own branch, and on an older page of a long branch too. The chat
// is loaded through that message (GET /api/sessions/<id>?leaf=<message>, then the pages before until the message is
// among them); search.js then scrolls to it and marks it. Editing, regenerating, ‹ › and writing end the view.
// A branch shown this way is only viewed: the chat's active branch does not change (for its other tabs and users
// neither), a line above the composer says so and offers "Back to the current version". The view lasts while the
// chat is open (a reconnection shows it again) and ends with ‹ › (a switch, as always), with "Back", with another
// chat, or when the user writes: a message sent continues the branch viewed, which then becomes the chat's.
import { get } from "./api.js";
import { el, toast } from "./ui.js";
import { MAX_PAGE } from "./chat-history.js";

const MAX_PAGES = 10; // the message further back than this many pages: the branch opens at its end

export const foundMethods = {
  /** Show message `messageId` of chat `sessionId`: now when that chat is open, else once it opens. */
  wantMessage(sessionId, messageId) {
    if (!sessionId || !messageId) return;
    this.wanted = { session: sessionId, message: messageId };
    if (this.session && this.session.id === sessionId && this.loaded) this.showWanted();
  },

  /** The open chat: the message asked for is on screen already (search.js marks it), or the chat loads through it. */
  async showWanted() {
    const wanted = this.wanted;
    if (!wanted || !this.session || this.session.id !== wanted.session) return;
    if (this.views.has(wanted.message)) { this.wanted = null; return; }
    let data;
    try {
      data = await this.fetchShown(wanted.session); // chat-branch-keep.js, through foundLeaf below
    } catch (err) {
      toast(`Could not open that message: ${err.message}`, { kind: "error" });
      return;
    }
    if (this.session && this.session.id === data.id) this.renderSession(data);
  },

  /** The message chat `id` is to be loaded through (one asked for, or the branch viewed), or null. */
  foundLeaf(id) {
    if (this.wanted && this.wanted.session === id) return this.wanted.message;
    return this.viewing && this.viewing.session === id ? this.viewing.message : null;
  },

  /** Whether the open chat shows a branch viewed from a search (not its active one). */
  viewsFound() {
    return Boolean(this.viewing && this.session && this.viewing.session === this.session.id);
  },

  /** The page of chat `id` through `messageId` (404: the message is gone), with the pages before it that reach it. */
  async fetchThrough(id, messageId, limit = null) {
    const query = new URLSearchParams({ leaf: messageId });
    if (limit) query.set("limit", limit);
    const data = await get(`/api/sessions/${id}?${query}`);
    let [messages, more] = [data.messages, data.has_more];
    for (let i = 0; more && messages.length && !messages.some((m) => m.id === messageId) && i < MAX_PAGES; i += 1) {
      const page = await get(`/api/sessions/${id}?limit=${MAX_PAGE}&before=${encodeURIComponent(messages[0].id)}`);
      [messages, more] = [[...page.messages, ...messages], page.has_more];
    }
    if (this.wanted && this.wanted.session === id && this.wanted.message === messageId) this.wanted = null;
    const home = (data.access === "read" && this.keptBranch(id)) || data.active_leaf; // what the chat shows otherwise
    this.viewing = data.shown_leaf && data.shown_leaf !== home ? { session: id, message: messageId } : null;
    return { ...data, messages, has_more: more };
  },

  /** The message a new question follows while a branch is viewed (its last), or null. */
  viewedLeaf() {
    return this.viewsFound() ? this.leaf : null;
  },

  /** The view ends (a switch, "Back", a message written on it, another chat); `show`: load the chat's own branch. */
  endView(show = false) {
    const id = this.viewsFound() ? this.session.id : null;
    this.viewing = null;
    this.wanted = null;
    this.showViewNote();
    if (!show || !id) return;
    this.fetchShown(id).then((data) => {
      if (this.session && this.session.id === data.id) this.renderSession(data);
    }, (err) => toast(`Could not load the chat: ${err.message}`, { kind: "error" }));
  },

  /** The line above the composer while a branch found by search is viewed. */
  showViewNote() {
    if (!this.viewNote) {
      this.viewNote = el("div", { class: "view-note small", role: "status", hidden: true },
        el("span", { class: "view-note-text" }),
        el("button", { class: "btn btn-small view-note-back", type: "button", text: "Back to the current version",
          onclick: () => this.endView(true) }));
      this.form.before(this.viewNote);
    }
    const on = this.viewsFound();
    this.viewNote.hidden = !on;
    if (!on) return;
    this.viewNote.querySelector(".view-note-text").textContent = this.canWriteChat
      ? "You are viewing another version of this chat, with the message you opened; its current version is unchanged. A message you send continues this version."
      : "You are viewing another version of this chat, with the message you opened; its current version is unchanged.";
  },
};
