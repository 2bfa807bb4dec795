// The right pane (chats of the selected section, live over a websocket): ChatPane's state, wiring, access and models; its other methods are in chat-sessions.js, chat-messages.js, chat-composer.js.
import { patch } from "./api.js";
import { el, toast, autoGrow } from "./ui.js";
import { ChatTools } from "./tools.js";
import { sessionMethods } from "./chat-sessions.js";
import { messageMethods } from "./chat-messages.js";
import { composerMethods } from "./chat-composer.js";
import { branchMethods } from "./chat-branches.js";
import { branchKeepMethods } from "./chat-branch-keep.js";
import { historyMethods } from "./chat-history.js";
import { foundMethods } from "./chat-found.js";
import { ChatFiles } from "./files.js";
import { PassageChip, passageMethods } from "./selection.js";
import { ComposerDrafts, recoveryMethods } from "./chat-drafts.js";

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
    this.passageChip = new PassageChip(this.input); // the selected passage the next message is about
    this.parents = new Map(); // message id -> parent id, tool messages included
    this.resetTree(); // every message of the chat, every branch (chat-branches.js)
    this.tools = new ChatTools(this, {
      streamsBox: document.getElementById("streams"),
      proposalsBox: document.getElementById("proposals"),
    });
    this.files = new ChatFiles(this, {
      strip: document.getElementById("chat-files"), attachButton: document.getElementById("attach-btn"),
      input: document.getElementById("attach-input"), dropZone: document.getElementById("chat-pane"),
    });
    this.wire();
    this.drafts = new ComposerDrafts(this); // unsent text kept in this browser (chat-drafts.js)
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
      this.stick = this.nearEnd();
      if (this.stick) this.jump.hidden = true;
      this.maybeLoadOlder(); // a long chat's older pages (chat-history.js)
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
    this.files.accessChanged();
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
}

// ChatPane's other methods, kept in files by what they do; in all of them `this` is the pane.
Object.assign(ChatPane.prototype, sessionMethods, messageMethods, composerMethods, branchMethods, passageMethods,
  recoveryMethods, historyMethods, branchKeepMethods, foundMethods);
