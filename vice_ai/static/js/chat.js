// The right pane: the chats of the selected section, streamed live over a websocket.
import { get, post, patch, del } from "./api.js";
import { el, toast, confirmAction, relativeTime, fullTime, autoGrow, copyText } from "./ui.js";
import { SessionSocket } from "./live.js";
import { ChatTools } from "./tools.js";

const STICK_PX = 48;

// Where streamed raw text continues: the last block of the rendered HTML so far,
// so the text flows on in the same paragraph, list item or code block.
function tailHost(container) {
  let node = container.lastElementChild;
  while (node) {
    const tag = node.tagName;
    if (tag === "P" || tag === "LI" || tag === "CODE" || tag === "TD" || tag === "TH" || /^H[1-6]$/.test(tag)) {
      const deeper = node.lastElementChild;
      if (tag !== "CODE" && deeper && ["UL", "OL", "PRE", "P", "TABLE", "BLOCKQUOTE"].includes(deeper.tagName)) {
        node = deeper;
        continue;
      }
      return node;
    }
    if (["UL", "OL", "PRE", "BLOCKQUOTE", "TABLE", "TBODY", "THEAD", "TR"].includes(tag) && node.lastElementChild) {
      node = node.lastElementChild;
      continue;
    }
    break;
  }
  const p = el("p");
  container.append(p);
  return p;
}

// The page's Content-Security-Policy refuses style attributes, even while parsing.
// Only server-rendered, sanitised HTML ever goes through innerHTML.
function setHtml(container, html) {
  container.innerHTML = html || "";
}

function plural(n, word) {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

function receiptText(m) {
  const r = m.receipt || {};
  const parts = [];
  if (m.model) parts.push(m.model);
  if (r.section_version != null) parts.push(`section v${r.section_version}`);
  if (r.messages_kept != null) {
    const sent = plural(r.messages_kept, "message");
    parts.push(r.messages_dropped ? `${sent} sent, ${r.messages_dropped} dropped` : `${sent} sent`);
  }
  if (r.prompt_tokens_estimate != null) parts.push(`≈${r.prompt_tokens_estimate} tokens`);
  return parts.join(" · ");
}

function receiptTitle(m) {
  const r = m.receipt || {};
  const lines = ["What the model was sent for this reply:"];
  if (m.model) lines.push(`Model: ${m.model}`);
  if (r.section_version != null) lines.push(`Section text: version ${r.section_version}`);
  if (r.messages_kept != null) lines.push(`Earlier messages kept: ${r.messages_kept}, dropped to fit: ${r.messages_dropped || 0}`);
  if (r.prompt_tokens_estimate != null) lines.push(`Prompt size: about ${r.prompt_tokens_estimate} tokens (budget ${r.token_budget ?? "?"})`);
  return lines.join("\n");
}

class MessageView {
  constructor(chat, data) {
    this.chat = chat;
    this.data = data;
    this.applied = null; // {mode, version, previousVersion, undone}
    this.node = el("div", { class: `msg msg-${data.role}`, dataset: { id: data.id } });
    this.render();
  }

  get id() { return this.data.id; }

  /** A full render from a server message (its `html` is sanitised on the server). */
  update(data) {
    this.data = data;
    this.render();
  }

  render() {
    const m = this.data;
    this.node.className = `msg msg-${m.role} status-${m.status}`;
    this.node.dataset.status = m.status;
    if (m.role === "user") {
      this.node.replaceChildren(
        el("div", { class: "msg-text", text: m.content }),
        el("div", { class: "msg-meta muted small" },
          el("time", { datetime: m.created_at, title: fullTime(m.created_at), text: relativeTime(m.created_at) })));
      return;
    }
    this.body = el("div", { class: "md msg-body" });
    setHtml(this.body, m.html);
    this.tail = null;
    this.errorBox = el("div", { class: "msg-error", role: "alert", hidden: true });
    this.staleBox = el("div", { class: "msg-stale", hidden: true });
    this.noticeBox = el("div", { class: "msg-notice small", hidden: true });
    this.applyBox = el("div", { class: "apply-result small", hidden: true });
    this.foot = el("div", { class: "msg-foot" });
    // A step that calls tools: its text (if any) and one compact line per call, no receipt or actions.
    this.steps = this.chat.tools.stepsFor(m);
    if (this.steps) {
      this.node.classList.add("msg-tools");
      this.node.classList.toggle("msg-tools-only", !(m.content || "").trim());
      this.body.hidden = !(m.content || "").trim();
      this.foot.hidden = true;
    }
    this.node.replaceChildren(this.noticeBox, this.body, this.steps || "", this.errorBox, this.staleBox, this.foot, this.applyBox);
    if (m.status === "streaming") {
      this.startTail("");
      this.foot.append(el("span", { class: "msg-state", text: "Generating…" }));
      return;
    }
    if (m.receipt && m.receipt.notice) {
      this.noticeBox.textContent = m.receipt.notice;
      this.noticeBox.hidden = false;
    }
    this.retryBtn = null;
    if (m.error && (m.status === "error" || m.status === "interrupted")) {
      const what = m.status === "interrupted" ? "The reply was interrupted: " : "The reply failed: ";
      if (this.chat.canWriteChat) this.retryBtn = el("button", { class: "btn btn-small", type: "button", text: "Retry", onclick: () => this.chat.retry() });
      this.errorBox.replaceChildren(el("span", { text: what + (m.error.message || "unknown error") }), this.retryBtn || "");
      this.errorBox.hidden = false;
    }
    const state = m.status === "stopped" ? "Stopped" : m.status === "interrupted" ? "Partial reply" : "";
    const receipt = el("span", { class: "receipt muted small", title: receiptTitle(m), text: receiptText(m) });
    const footParts = [receipt];
    if (state) footParts.push(el("span", { class: "msg-state", text: state }));
    if ((m.content || "").trim() && !this.steps) footParts.push(this.actions());
    this.foot.replaceChildren(...footParts);
    this.renderApplied();
    this.refresh();
  }

  caret() {
    return el("span", { class: "caret", "aria-hidden": "true" });
  }

  actions() {
    // Applying writes the chat and the section: the server wants both (chat owner or document owner, and edit access).
    const menu = !this.chat.canApply ? null : el("details", { class: "apply-menu" },
      el("summary", { class: "btn btn-small", text: "Apply to section" }),
      el("div", { class: "menu" },
        el("button", { type: "button", text: "Replace the section text", onclick: (ev) => { ev.target.closest("details").open = false; this.apply("replace"); } }),
        el("button", { type: "button", text: "Append to the section", onclick: (ev) => { ev.target.closest("details").open = false; this.apply("append"); } })));
    const copy = el("button", { class: "btn btn-small btn-ghost", type: "button", text: "Copy" });
    copy.addEventListener("click", async () => {
      const ok = await copyText(this.data.content);
      copy.textContent = ok ? "Copied" : "Copy failed";
      setTimeout(() => { copy.textContent = "Copy"; }, 1500);
    });
    return el("span", { class: "msg-actions" }, menu, copy);
  }

  /** Streamed text: the latest rendered HTML when the event carries it, raw text after it. */
  delta(text, html) {
    this.data.content = (this.data.content || "") + text;
    if (!this.body) return;
    if (html !== undefined && html !== null) {
      setHtml(this.body, html);
      // Rendering trims the reply's trailing whitespace; the raw text that follows
      // must keep it, or two words run together until the next render.
      const trailing = /\s*$/.exec(this.data.content)[0];
      this.startTail(trailing.includes("\n") ? "\n" : trailing ? " " : "");
      return;
    }
    if (!this.tail) this.startTail("");
    this.tail.append(document.createTextNode(text));
  }

  /** Raw text and the caret continue inside the last block, so nothing moves to a new line. */
  startTail(prefix) {
    const caret = this.body.querySelector(".caret");
    if (caret) caret.remove();
    this.tail = el("span", { class: "stream-tail" }, prefix);
    tailHost(this.body).append(this.tail, this.caret());
  }

  async apply(mode) {
    try {
      const data = await post(`/api/sessions/${this.chat.session.id}/apply`, { message_id: this.id, mode });
      this.applied = { mode, version: data.section.version, previousVersion: data.previous_version, undone: false };
      this.chat.sectionUpdated(data.section);
      this.renderApplied();
    } catch (err) {
      toast(`Could not apply the reply: ${err.message}`, { kind: "error" });
    }
  }

  async undo() {
    const a = this.applied;
    const section = this.chat.section;
    try {
      const data = await post(
        `/api/documents/${this.chat.documentId}/sections/${section.id}/versions/${a.previousVersion}/revert`);
      a.undone = true;
      a.undoneVersion = data.section.version;
      this.chat.sectionUpdated(data.section);
      this.renderApplied();
    } catch (err) {
      toast(`Could not undo: ${err.message}`, { kind: "error" });
    }
  }

  renderApplied() {
    const a = this.applied;
    if (!a || !this.applyBox) return;
    if (a.undone) {
      this.applyBox.replaceChildren(el("span", { text: `Undone — the section text is back as it was (version ${a.undoneVersion}).` }));
    } else {
      const what = a.mode === "replace" ? "Replaced the section text" : "Appended to the section";
      this.applyBox.replaceChildren(el("span", { text: `${what} (now version ${a.version}). ` }),
        el("button", { class: "btn btn-small btn-link undo-btn", type: "button", text: "Undo", onclick: () => this.undo() }));
    }
    this.applyBox.hidden = false;
    this.refresh();
  }

  /** What depends on the chat's state: Retry on the latest reply only, the stale-version note. */
  refresh() {
    const m = this.data;
    if (m.role !== "assistant" || !this.staleBox) return;
    if (this.retryBtn) this.retryBtn.hidden = !(this.chat.isLast(this.id) && !this.chat.generating);
    const current = this.chat.section ? this.chat.section.version : null;
    const appliedHere = (this.applied && !this.applied.undone && this.applied.version === current)
      || this.chat.tools.explains(m, current);
    const stale = current !== null && m.section_version != null && m.section_version < current
      && m.status !== "streaming" && (m.content || "").trim() && !appliedHere && !this.steps;
    const askAgain = this.chat.canWriteChat
      ? el("button", { class: "btn btn-small btn-link", type: "button", text: "Ask again", onclick: () => this.chat.askAgain(this) })
      : null;
    this.staleBox.hidden = !stale;
    if (stale) {
      this.staleBox.replaceChildren(
        el("span", { text: `Based on version ${m.section_version}; the section has changed (now version ${current}). ` }),
        askAgain);
    }
  }
}

export class ChatPane {
  constructor({ documentId, models, onSectionUpdate, onNotification, onConnState, onSessionChange, onServerRestart }) {
    this.documentId = documentId;
    this.models = models;
    this.onSectionUpdate = onSectionUpdate;
    this.onNotification = onNotification;
    this.onConnState = onConnState;
    this.onSessionChange = onSessionChange;
    this.onServerRestart = onServerRestart;
    this.section = null;
    this.sessions = [];
    this.session = null;
    this.socket = null;
    this.views = new Map();
    this.order = [];
    this.generating = false;
    this.stick = true;
    this.pendingFirst = null;
    this.loaded = false;
    // The caller's access to the document ("owner", "edit", "read") and to the open chat ("edit", "read", null: not known yet).
    this.docAccess = "owner";
    this.chatAccess = null;

    this.heading = document.getElementById("chat-section-name");
    this.genState = document.getElementById("gen-state");
    this.list = document.getElementById("messages");
    this.jump = document.getElementById("jump-latest");
    this.form = document.getElementById("composer");
    this.input = document.getElementById("composer-input");
    this.sendBtn = document.getElementById("send-btn");
    this.stopBtn = document.getElementById("stop-btn");
    this.sessionSelect = document.getElementById("session-select");
    this.modelSelect = document.getElementById("model-select");
    this.newBtn = document.getElementById("new-session");
    this.renameBtn = document.getElementById("rename-session");
    this.deleteBtn = document.getElementById("delete-session");
    this.note = document.getElementById("composer-note");
    this.parents = new Map(); // message id -> parent id, tool messages included
    this.tools = new ChatTools(this, {
      streamsBox: document.getElementById("streams"),
      proposalsBox: document.getElementById("proposals"),
    });
    this.wire();
    this.renderModels();
    this.setSection(null);
  }

  wire() {
    autoGrow(this.input);
    this.form.addEventListener("submit", (ev) => { ev.preventDefault(); this.sendFromComposer(); });
    this.input.addEventListener("keydown", (ev) => {
      if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing) {
        ev.preventDefault();
        this.sendFromComposer();
      } else if (ev.key === "Escape" && this.generating) {
        ev.preventDefault();
        this.stop();
      }
    });
    this.stopBtn.addEventListener("click", () => this.stop());
    this.list.addEventListener("scroll", () => {
      this.stick = this.list.scrollHeight - this.list.scrollTop - this.list.clientHeight < STICK_PX;
      if (this.stick) this.jump.hidden = true;
    });
    this.jump.addEventListener("click", () => { this.stick = true; this.scrollDown(true); });
    this.sessionSelect.addEventListener("change", () => this.openSession(this.sessionSelect.value));
    this.newBtn.addEventListener("click", () => this.newSession());
    this.renameBtn.addEventListener("click", () => this.rename());
    this.deleteBtn.addEventListener("click", () => this.deleteSession());
    this.modelSelect.addEventListener("change", () => this.changeModel());
  }

  // -- access ------------------------------------------------------------------------
  // The same rules as the server (vice_ai/auth/access.py): starting a chat needs edit access to the
  // document; a chat is written by its owner or the document's owner; applying a reply needs both.
  get canEditDoc() { return this.docAccess === "owner" || this.docAccess === "edit"; }

  get canWriteChat() { return this.chatAccess === "edit"; }

  get canApply() { return this.canWriteChat && this.canEditDoc; }

  /** The document's access, from its JSON answer. */
  setDocAccess(level) {
    if (level === this.docAccess) return;
    this.docAccess = level;
    this.applyAccess();
    for (const view of this.views.values()) view.render();
  }

  /** Enable or hide what the caller may or may not do here, and say why the composer is off. */
  applyAccess() {
    const section = Boolean(this.section);
    const open = Boolean(this.session);
    // With no chat open, the first message starts one: that is "edit the document".
    const mayWrite = open ? this.canWriteChat : this.canEditDoc;
    this.newBtn.hidden = !this.canEditDoc;
    this.newBtn.disabled = !section;
    this.input.disabled = !section || !mayWrite;
    this.sendBtn.disabled = !section || !mayWrite;
    this.modelSelect.disabled = !section || !mayWrite;
    this.renameBtn.hidden = this.deleteBtn.hidden = open && this.chatAccess === "read";
    this.stopBtn.hidden = !this.generating || !this.canWriteChat;
    let note = "";
    if (section && !mayWrite && (!open || this.chatAccess)) {
      if (!this.canEditDoc) note = open ? "Read only: you can read this chat but not write to it." : "Read only: you can read the chats of this document but not start one.";
      else note = "Read only: this chat belongs to someone else. Start your own with “New chat”.";
    }
    this.note.textContent = note;
    this.note.hidden = !note;
    this.input.placeholder = note ? "" : "Ask about this section…";
    this.tools.accessChanged();
  }

  // -- models ------------------------------------------------------------------------
  renderModels() {
    const { models, default: def, offline } = this.models;
    this.modelSelect.replaceChildren(...models.map((name) => {
      let label = name;
      if (offline && name === def) label = "Offline assistant (no model server)";
      if (name === def) label += " — default";
      return el("option", { value: name, text: label });
    }));
    this.modelSelect.value = def;
  }

  async changeModel() {
    const model = this.modelSelect.value;
    if (!this.session) return; // used when the first message creates the chat
    try {
      const data = await patch(`/api/sessions/${this.session.id}`, { config: { model } });
      this.session.config = data.config;
      toast(`This chat now uses ${model}.`);
    } catch (err) {
      toast(`Could not change the model: ${err.message}`, { kind: "error" });
    }
  }

  // -- sections and sessions ---------------------------------------------------------
  /** Show the chats of a section (null: nothing selected). */
  async setSection(section, preferredSessionId = null) {
    if (section && this.section && section.id === this.section.id) return;
    this.closeSocket();
    this.tools.setSession(null);
    this.section = section;
    this.session = null;
    this.sessions = [];
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
      return;
    }
    if (!this.section || this.section.id !== section.id) return; // the user moved on
    this.sessions = data.sessions;
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
  }

  /** The section's fields changed (edit, apply, revert): refresh names and stale notes. */
  sectionChanged(section) {
    if (!this.section || section.id !== this.section.id) return;
    this.section = section;
    this.heading.textContent = `about “${section.title || "Untitled"}”`;
    for (const view of this.views.values()) view.refresh();
    this.tools.sectionChanged();
  }

  sectionUpdated(section) {
    this.onSectionUpdate(section);
  }

  renderSessions(selected = this.session && this.session.id) {
    const options = this.sessions.map((s) => el("option", { value: s.id, text: s.title }));
    if (!options.length) options.push(el("option", { value: "", text: "No chats yet" }));
    this.sessionSelect.replaceChildren(...options);
    if (selected) this.sessionSelect.value = selected;
    const has = Boolean(this.session || selected);
    this.renameBtn.disabled = !has || !this.canWriteChat;
    this.deleteBtn.disabled = !has || !this.canWriteChat;
    this.sessionSelect.disabled = !this.sessions.length;
  }

  openSession(id) {
    this.closeSocket();
    this.clearMessages();
    this.setGenerating(false);
    const summary = this.sessions.find((s) => s.id === id) || { id, title: "Chat", config: {} };
    this.session = { ...summary };
    // Until the chat loads, only the document's owner is known to write it (access.py).
    this.chatAccess = this.docAccess === "owner" ? "edit" : null;
    this.tools.setSession(id);
    this.loaded = false;
    this.renderSessions(id);
    this.applyAccess();
    this.showEmpty("Loading messages…");
    localStorage.setItem(`vice.session.${this.section.id}`, id);
    this.onSessionChange(this.section.id, id);
    this.socket = new SessionSocket(id, {
      onReload: () => this.reload(),
      onEvent: (event) => this.handle(event),
      onSync: (session) => this.renderSession(session),
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
  }

  async reload() {
    const first = !this.loaded;
    const id = this.session && this.session.id;
    try {
      const data = await get(`/api/sessions/${id}`);
      if (!this.session || this.session.id !== id) return;
      this.renderSession(data);
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
  }

  renderSession(data) {
    this.loaded = true;
    this.session = data;
    if (data.access) this.chatAccess = data.access;
    this.renderSessions(data.id);
    this.applyAccess();
    this.clearMessages();
    for (const m of data.messages) this.parents.set(m.id, m.parent_id);
    this.tools.loaded(data);
    const visible = data.messages.filter((m) => m.role === "user" || m.role === "assistant");
    for (const m of visible) this.upsert(m);
    if (!visible.length) this.showEmpty("No messages yet — ask something about this section.");
    this.modelSelect.value = (data.config && data.config.model) || this.models.default;
    if (this.modelSelect.value === "") this.modelSelect.value = this.models.default;
    const streaming = visible.some((m) => m.status === "streaming");
    this.setGenerating(Boolean(data.generating) || streaming);
    if (!this.generating) this.tools.settle();
    this.stick = true;
    this.scrollDown(true);
  }

  async newSession(firstMessage = null) {
    if (!this.section) return null;
    const body = { model: this.modelSelect.value || undefined };
    if (firstMessage) body.title = firstMessage.replace(/\s+/g, " ").trim().slice(0, 60);
    try {
      const session = await post(`/api/documents/${this.documentId}/sections/${this.section.id}/sessions`, body);
      this.sessions.unshift(session);
      this.pendingFirst = firstMessage;
      this.openSession(session.id);
      if (!firstMessage) this.input.focus();
      return session;
    } catch (err) {
      toast(`Could not start a chat: ${err.message}`, { kind: "error" });
      return null;
    }
  }

  rename() {
    if (!this.session) return;
    const input = el("input", { class: "rename-input session-rename", value: this.session.title || "", maxlength: 300, "aria-label": "Chat title" });
    let done = false;
    const finish = async (save) => {
      if (done) return;
      done = true;
      input.replaceWith(this.sessionSelect);
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
    input.addEventListener("blur", () => finish(true));
    this.sessionSelect.replaceWith(input);
    input.focus();
    input.select();
  }

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
  }

  forget(id) {
    this.sessions = this.sessions.filter((s) => s.id !== id);
    localStorage.removeItem(`vice.session.${this.section.id}`);
    this.session = null;
    this.chatAccess = null;
    if (this.sessions.length) this.openSession(this.sessions[0].id);
    else {
      this.closeSocket();
      this.tools.setSession(null);
      this.clearMessages();
      this.setGenerating(false);
      this.renderSessions();
      this.applyAccess();
      this.showEmpty("No chats about this section yet — ask something below to start one.");
      this.onSessionChange(this.section.id, null);
    }
  }

  sessionGone() {
    if (!this.session) return;
    toast("This chat was deleted.", { kind: "error" });
    this.forget(this.session.id);
  }

  closeSocket() {
    if (this.socket) this.socket.close();
    this.socket = null;
    this.onConnState("idle");
  }

  // -- messages ----------------------------------------------------------------------
  clearMessages() {
    this.views.clear();
    this.order = [];
    this.parents.clear();
    this.tools.clearSteps();
    this.list.replaceChildren();
    this.jump.hidden = true;
  }

  showEmpty(text) {
    if (this.order.length) return;
    this.list.replaceChildren(el("div", { class: "empty-state" }, el("p", { text })));
  }

  isLast(id) {
    return this.order.length > 0 && this.order[this.order.length - 1] === id;
  }

  upsert(message) {
    this.parents.set(message.id, message.parent_id);
    if (message.role !== "user" && message.role !== "assistant") return null;
    let view = this.views.get(message.id);
    if (view) {
      view.update(message);
    } else {
      if (!this.order.length) this.list.replaceChildren();
      this.list.querySelectorAll(".orphan-error").forEach((n) => n.remove());
      view = new MessageView(this, message);
      this.views.set(message.id, view);
      this.order.push(message.id);
      this.list.append(view.node);
      this.refreshAll();
    }
    this.scrollDown();
    return view;
  }

  refreshAll() {
    for (const view of this.views.values()) view.refresh();
  }

  handle(event) {
    switch (event.type) {
      case "user_message":
        this.upsert(event.message);
        this.setGenerating(true);
        this.stick = true;
        this.scrollDown(true);
        break;
      case "round_start":
        this.upsert(event.message);
        this.setGenerating(true);
        break;
      case "tool_call":
        this.upsert(event.message);
        break;
      case "tool_result":
        if (event.message) this.parents.set(event.message.id, event.message.parent_id);
        this.tools.handle(event);
        break;
      case "delta": {
        const view = this.views.get(event.message_id);
        if (view) { view.delta(event.text || "", event.html); this.scrollDown(); }
        break;
      }
      case "done":
      case "stopped":
        if (event.message) this.upsert(event.message);
        this.setGenerating(false);
        this.tools.handle(event);
        break;
      case "error":
        if (event.message) this.upsert(event.message);
        else this.orphanError(event.error || {});
        this.setGenerating(false);
        this.tools.handle(event);
        break;
      case "notification":
        this.tools.handle(event);
        this.onNotification(event);
        break;
      case "deleted":
        this.sessionGone();
        break;
      default:
        break;
    }
  }

  handleLocal(event) {
    if (event.type !== "error") return;
    const err = event.error || {};
    if (this.lastSent && !this.input.value) this.input.value = this.lastSent;
    this.lastSent = null;
    toast(err.message || "The server refused that.", { kind: "error" });
  }

  orphanError(err) {
    this.list.querySelectorAll(".orphan-error").forEach((n) => n.remove());
    const retry = el("button", { class: "btn btn-small", type: "button", text: "Retry", onclick: () => this.retry() });
    this.list.append(el("div", { class: "msg msg-assistant orphan-error" },
      el("div", { class: "msg-error", role: "alert" }, el("span", { text: `The reply failed: ${err.message || "unknown error"}` }), retry)));
    this.scrollDown();
  }

  setGenerating(on) {
    this.generating = on;
    this.genState.hidden = !on;
    this.stopBtn.hidden = !on || !this.canWriteChat;
    this.sendBtn.hidden = on;
    this.list.setAttribute("aria-busy", String(on));
    if (!on && this.stopBtn.contains(document.activeElement)) this.input.focus();
    this.refreshAll();
  }

  scrollDown(force = false) {
    if (this.stick || force) {
      this.list.scrollTop = this.list.scrollHeight;
      this.jump.hidden = true;
    } else {
      this.jump.hidden = false;
    }
  }

  // -- commands ----------------------------------------------------------------------
  sendFromComposer() {
    const text = this.input.value;
    if (!text.trim() || !this.section || this.input.disabled) return;
    if (this.generating) {
      toast("A reply is still being written. Stop it or wait for it to finish.");
      return;
    }
    this.input.value = "";
    this.input.dispatchEvent(new Event("input"));
    if (!this.session) {
      this.newSession(text);
      return;
    }
    this.sendText(text);
  }

  sendText(text) {
    this.lastSent = text;
    if (!this.socket || !this.socket.send({ type: "send", content: text })) {
      if (!this.input.value) this.input.value = text;
      toast("Not connected to the server — reconnecting. Your message is still in the box.", { kind: "error" });
    }
  }

  stop() {
    if (this.socket && this.canWriteChat) this.socket.send({ type: "stop" });
  }

  retry() {
    if (this.generating || !this.canWriteChat) return;
    this.list.querySelectorAll(".orphan-error").forEach((n) => n.remove());
    if (!this.socket || !this.socket.send({ type: "retry" })) {
      toast("Not connected to the server — reconnecting.", { kind: "error" });
    }
  }

  askAgain(view) {
    // After tool steps the reply's parent is a tool result: walk up to the user's message.
    let id = view.data.parent_id;
    for (let hops = 0; id && hops < 100 && !(this.views.get(id) && this.views.get(id).data.role === "user"); hops += 1) {
      id = this.parents.get(id);
    }
    const question = id ? this.views.get(id) : null;
    if (!question) { toast("The question of that reply is not in this chat."); return; }
    if (this.generating) { toast("A reply is still being written. Stop it or wait for it to finish."); return; }
    this.sendText(question.data.content);
  }
}
