// ChatPane methods for the chat list of the selected section: loading, opening (websocket), new, rename, delete.
import { get, post, patch, del } from "./api.js";
import { el, toast, confirmAction } from "./ui.js";
import { SessionSocket } from "./live.js";

export const sessionMethods = {
  // -- sections and sessions ---------------------------------------------------------
  /** Show the chats of a section (null: nothing selected). */
  async setSection(section, preferredSessionId = null) {
    if (section && this.section && section.id === this.section.id) return;
    this.passageChip.clear();
    this.closeSocket();
    this.tools.setSession(null);
    this.files.setSession(null);
    this.section = section;
    this.session = null;
    this.sessions = [];
    this.chatsLoaded = false;
    this.drafts.switched(); // the composer shows this section's draft (chat-drafts.js)
    this.clearMessages();
    this.setGenerating(false);
    this.sessionSelect.disabled = !section;
    this.chatAccess = null;
    this.applyAccess();
    this.heading.textContent = section ? `about “${section.title || "Untitled"}”` : "";
    if (!section) {
      this.renderSessions();
      this.showEmpty("Select a section on the left to chat about it.");
      return;
    }
    this.showEmpty("Loading chats…");
    let data;
    try {
      data = await get(`/api/documents/${this.documentId}/sections/${section.id}/sessions`);
    } catch (err) {
      this.showEmpty(`Could not load the chats: ${err.message}`);
      if (err.status === 0 || err.status >= 500) this.retryChats(section, preferredSessionId);
      return;
    }
    if (preferredSessionId && !data.sessions.some((s) => s.id === preferredSessionId)) {
      // An archived chat asked for by id (a search result): list it too.
      const all = await get(`/api/documents/${this.documentId}/sections/${section.id}/sessions?archived=1`).catch(() => null);
      const found = all && all.sessions.find((s) => s.id === preferredSessionId);
      if (found) data.sessions.unshift(found);
    }
    if (!this.section || this.section.id !== section.id) return; // the user moved on
    this.sessions = data.sessions;
    this.chatsReady();
    const remembered = localStorage.getItem(`vice.session.${section.id}`);
    const pick = [preferredSessionId, remembered].find((id) => id && this.sessions.some((s) => s.id === id))
      || (this.sessions[0] && this.sessions[0].id);
    this.renderSessions(pick);
    if (pick) this.openSession(pick);
    else {
      this.modelSelect.value = this.models.default;
      this.showEmpty("No chats about this section yet — ask something below to start one.");
      this.onSessionChange(section.id, null);
    }
  },

  /** Open a chat of the selected section by id, an archived one too (a search result). */
  showSession(id) {
    if (this.sessions.some((s) => s.id === id)) { this.openSession(id); return; }
    const section = this.section;
    this.section = null; // load the section's chats again, with this one
    this.setSection(section, id);
  },

  /** The section's fields changed (edit, apply, revert): refresh names and stale notes. */
  sectionChanged(section) {
    if (!this.section || section.id !== this.section.id) return;
    this.section = section;
    this.heading.textContent = `about “${section.title || "Untitled"}”`;
    for (const view of this.views.values()) view.refresh();
    this.tools.sectionChanged();
  },

  sectionUpdated(section) {
    this.onSectionUpdate(section);
  },

  renderSessions(selected = this.session && this.session.id) {
    const options = this.sessions.map((s) => el("option", { value: s.id, text: s.title }));
    if (!options.length) options.push(el("option", { value: "", text: "No chats yet" }));
    this.sessionSelect.replaceChildren(...options);
    if (selected) this.sessionSelect.value = selected;
    const has = Boolean(this.session || selected);
    this.renameBtn.disabled = !has || !this.canWriteChat;
    this.deleteBtn.disabled = !has || !this.canWriteChat;
    this.sessionSelect.disabled = !this.sessions.length;
  },

  openSession(id) {
    if (this.foundLeaf(id) === null) this.endView(); // another chat than the one a search result is on (chat-found.js)
    this.closeSocket();
    this.clearMessages();
    this.setGenerating(false);
    const summary = this.sessions.find((s) => s.id === id) || { id, title: "Chat", config: {} };
    this.session = { ...summary };
    this.drafts.switched();
    // Until the chat loads, only the document's owner is known to write it (access.py).
    this.chatAccess = this.docAccess === "owner" ? "edit" : null;
    this.tools.setSession(id);
    this.files.setSession(id);
    this.loaded = false;
    this.renderSessions(id);
    this.applyAccess();
    this.showEmpty("Loading messages…");
    localStorage.setItem(`vice.session.${this.section.id}`, id);
    this.onSessionChange(this.section.id, id);
    this.socket = new SessionSocket(id, {
      onReload: () => this.reload(),
      onEvent: (event) => this.handle(event),
      onSync: (session) => this.synced(session), // a reader's own branch kept (chat-branch-keep.js)
      onLocal: (event) => this.handleLocal(event),
      onState: (state) => this.onConnState(state),
      onRetry: (attempt) => {
        // A refused handshake (signed out, chat deleted) looks like a dropped line:
        // ask over HTTP, which says which it is (api.js sends a signed-out user to sign in).
        if (attempt % 3 === 0) {
          get(`/api/sessions/${id}`).then(() => {}, (err) => { if (err.status === 404) this.sessionGone(); });
        }
      },
      onGone: () => this.sessionGone(),
    }).start();
  },

  async reload() {
    const first = !this.loaded;
    const id = this.session && this.session.id;
    const place = first ? null : this.readingPlace(); // back after a restart: where the user was (chat-history.js)
    try {
      const data = await this.fetchShown(id, place && place.limit); // a reader's own branch (chat-branch-keep.js)
      if (!this.session || this.session.id !== id) return;
      this.renderSession(data);
      if (place) this.returnTo(place);
    } catch (err) {
      if (err.status === 404) { this.sessionGone(); return; }
      throw err;
    }
    if (!first) this.onServerRestart();
    if (this.pendingFirst && this.socket) {
      const text = this.pendingFirst;
      this.pendingFirst = null;
      this.sendText(text);
    }
  },

  renderSession(data) {
    this.loaded = true;
    this.session = data;
    if (data.access) this.chatAccess = data.access;
    this.renderSessions(data.id);
    this.applyAccess();
    this.clearMessages();
    for (const m of data.messages) this.parents.set(m.id, m.parent_id);
    this.loadTree(data);
    this.showViewNote(); // a branch viewed from a search says so (chat-found.js)
    this.tools.loaded(data);
    const visible = this.visiblePath(); // the active branch (chat-branches.js)
    this.rendering = true;
    for (const m of visible) this.upsert(m);
    this.rendering = false;
    if (!visible.length) this.showEmpty("No messages yet — ask something about this section.");
    this.modelSelect.value = (data.config && data.config.model) || this.models.default;
    if (this.modelSelect.value === "") this.modelSelect.value = this.models.default;
    const streaming = visible.some((m) => m.status === "streaming");
    this.setGenerating(Boolean(data.generating) || streaming);
    if (!this.generating) this.tools.settle();
    this.stick = true;
    this.setHistory(data); // older pages load on scrolling up (chat-history.js); its line is above the end
    this.scrollDown(true);
    if (this.hasMore && this.list.scrollHeight <= this.list.clientHeight) this.loadOlder();
  },

  async newSession(firstMessage = null) {
    if (!this.section) return null;
    const body = { model: this.modelSelect.value || undefined };
    const preset = this.presetFor ? this.presetFor() : null; // the preset picker (presets.js), set by document.js
    if (preset) Object.assign(body, { preset_id: preset.id, model: preset.model || body.model });
    if (firstMessage) body.title = firstMessage.replace(/\s+/g, " ").trim().slice(0, 60);
    this.creating = true; // its chat_created event may come first (chatListChanged)
    try {
      const session = await post(`/api/documents/${this.documentId}/sections/${this.section.id}/sessions`, body);
      this.sessions = [session, ...this.sessions.filter((s) => s.id !== session.id)];
      this.pendingFirst = firstMessage;
      this.openSession(session.id);
      if (!firstMessage) this.input.focus();
      return session;
    } catch (err) {
      if (firstMessage && !this.input.value.trim()) { this.input.value = firstMessage; this.input.dispatchEvent(new Event("input")); }
      toast(`Could not start a chat: ${err.message}`, { kind: "error" });
      return null;
    } finally {
      this.creating = false;
    }
  },

  /** A chat of the document was made, renamed, archived or deleted, here or elsewhere (live-document.js). */
  chatListChanged(event) {
    if (!this.section || event.section_id !== this.section.id) return;
    const id = event.session ? event.session.id : event.session_id;
    const listed = this.sessions.find((s) => s.id === id);
    const open = this.session && this.session.id === id;
    if (event.type === "chat_deleted") {
      if (!listed || open) return; // the open chat's own socket says it is gone
      this.sessions = this.sessions.filter((s) => s.id !== id);
    } else if (listed) {
      Object.assign(listed, event.session);
      if (open) this.session.title = event.session.title;
    } else if (!event.session.archived) {
      this.sessions.unshift(event.session);
    } else return;
    this.renderSessions();
    // Nothing open ("No chats yet"): show the new chat rather than list it behind an empty pane.
    if (!this.session && !this.creating && this.sessions.length) this.openSession(this.sessions[0].id);
  },

  rename() {
    if (!this.session) return;
    const input = el("input", { class: "rename-input session-rename", value: this.session.title || "", maxlength: 300, "aria-label": "Chat title" });
    let done = false;
    const finish = async (save, refocus = true) => {
      if (done) return;
      done = true;
      input.replaceWith(this.sessionSelect);
      if (refocus) this.renameBtn.focus(); // Enter or Escape: the keyboard goes back to where it was
      const title = input.value.trim();
      if (!save || !title || title === this.session.title) return;
      try {
        const data = await patch(`/api/sessions/${this.session.id}`, { title });
        this.session.title = data.title;
        const summary = this.sessions.find((s) => s.id === data.id);
        if (summary) summary.title = data.title;
        this.renderSessions();
      } catch (err) {
        toast(`Could not rename the chat: ${err.message}`, { kind: "error" });
      }
    };
    input.addEventListener("keydown", (ev) => {
      if (ev.key === "Enter") { ev.preventDefault(); finish(true); }
      if (ev.key === "Escape") { ev.preventDefault(); finish(false); }
    });
    input.addEventListener("blur", () => finish(true, false));
    this.sessionSelect.replaceWith(input);
    input.focus();
    input.select();
  },

  async deleteSession() {
    if (!this.session) return;
    const ok = await confirmAction(`Delete the chat “${this.session.title}” and all its messages?`);
    if (!ok) return;
    const id = this.session.id;
    try {
      this.closeSocket();
      await del(`/api/sessions/${id}`);
    } catch (err) {
      toast(`Could not delete the chat: ${err.message}`, { kind: "error" });
      return;
    }
    this.forget(id);
    toast("Chat deleted.");
  },

  forget(id) {
    this.sessions = this.sessions.filter((s) => s.id !== id);
    localStorage.removeItem(`vice.session.${this.section.id}`);
    this.session = null;
    this.chatAccess = null;
    if (this.sessions.length) this.openSession(this.sessions[0].id);
    else {
      this.drafts.switched();
      this.closeSocket();
      this.tools.setSession(null);
      this.files.setSession(null);
      this.clearMessages();
      this.setGenerating(false);
      this.renderSessions();
      this.applyAccess();
      this.showEmpty("No chats about this section yet — ask something below to start one.");
      this.onSessionChange(this.section.id, null);
    }
  },

  sessionGone() {
    if (!this.session) return;
    toast("This chat was deleted.", { kind: "error" });
    this.forget(this.session.id);
  },

  closeSocket() {
    if (this.socket) this.socket.close();
    this.socket = null;
    this.onConnState("idle");
  },
};
