// One message of the chat as shown: its text (streamed in live), receipt, Apply / Undo, Retry / Continue and stale-version note.
import { post } from "./api.js";
import { el, toast, relativeTime, fullTime, copyText } from "./ui.js";
import { receiptFilesLine } from "./files.js";
import { addCopyButtons } from "./code-copy.js";
import { reviewReply } from "./review-flows.js";
import { appliedState, seesCurrentText } from "./stale.js";
import { passageQuote, replacePassage, selectionOf } from "./selection.js";

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
  if (r.messages_other_branches) parts.push("this branch only");
  return parts.join(" · ");
}

function receiptTitle(m) {
  const r = m.receipt || {};
  const lines = ["What the model was sent for this reply:"];
  if (m.model) lines.push(`Model: ${m.model}`);
  if (r.section_version != null) lines.push(`Section text: version ${r.section_version}`);
  if (r.messages_kept != null) lines.push(`Earlier messages kept: ${r.messages_kept}, dropped to fit: ${r.messages_dropped || 0}`);
  if (r.prompt_tokens_estimate != null) lines.push(`Prompt size: about ${r.prompt_tokens_estimate} tokens (budget ${r.token_budget ?? "?"})`);
  if (r.branch_note) lines.push(r.branch_note);
  return lines.join("\n");
}

export class MessageView {
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
      this.node.replaceChildren(passageQuote(m),
        el("div", { class: "msg-text", text: m.content }),
        el("div", { class: "msg-meta muted small" }, this.chat.branchBar(this),
          el("time", { datetime: m.created_at, title: fullTime(m.created_at), text: relativeTime(m.created_at) })));
      this.refresh();
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
    // Versions and Regenerate (chat-branches.js): in the foot, or under a tool step, which has none.
    const bar = this.chat.branchBar(this);
    this.node.replaceChildren(passageQuote(m), this.noticeBox, this.body, this.steps || "", this.errorBox, this.staleBox, this.foot,
      (this.steps && bar) || "", this.applyBox);
    if (this.chat.madeVersions) this.chat.madeVersions.attach(this); // "Made v5" (message-versions.js)
    // Notes beside the reply (offline assistant, a model that was not available): never in its text.
    const notice = [m.notice, m.receipt && m.receipt.notice].filter(Boolean).join(" ");
    this.noticeBox.textContent = notice;
    this.noticeBox.hidden = !notice;
    if (m.status === "streaming") {
      this.startTail("");
      this.foot.append(el("span", { class: "msg-state", text: "Generating…" }));
      return;
    }
    addCopyButtons(this.body);
    this.retryBtn = null;
    this.continueBtn = null;
    if (m.error && (m.status === "error" || m.status === "interrupted")) {
      const what = m.status === "interrupted" ? "The reply was interrupted: " : "The reply failed: ";
      if (this.chat.canWriteChat) {
        this.retryBtn = el("button", { class: "btn btn-small", type: "button", text: "Retry", title: "Answer the question again, as a new reply", onclick: () => this.chat.retry() });
        // Continue: the model goes on from the text so far, appended to this same reply.
        if (m.status === "interrupted" && (m.content || "").trim() && !this.steps) {
          this.continueBtn = el("button", { class: "btn btn-small", type: "button", text: "Continue", title: "Ask the model to go on from where the reply stopped", onclick: () => this.chat.continueReply() });
        }
      }
      const buttons = this.retryBtn ? el("span", { class: "msg-actions" }, this.continueBtn || "", this.retryBtn) : "";
      this.errorBox.replaceChildren(el("span", { text: what + (m.error.message || "unknown error") }), buttons);
      this.errorBox.hidden = false;
    }
    const state = m.status === "stopped" ? "Stopped" : m.status === "interrupted" ? "Partial reply" : "";
    const receipt = el("span", { class: "receipt muted small", title: receiptTitle(m), text: receiptText(m) });
    const footParts = [receipt, receiptFilesLine(m.receipt) || ""];
    if (state) footParts.push(el("span", { class: "msg-state", text: state }));
    if ((m.content || "").trim() && !this.steps) footParts.push(this.actions());
    if (bar && !this.steps) footParts.push(bar);
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
        selectionOf(this.data) ? el("button", { type: "button", class: "apply-passage", text: "Replace the passage", onclick: (ev) => this.pickApply(ev, "passage") }) : null,
        el("button", { type: "button", text: "Replace the section text", onclick: (ev) => this.pickApply(ev, "replace") }),
        el("button", { type: "button", text: "Append to the section", onclick: (ev) => this.pickApply(ev, "append") })));
    const copy = el("button", { class: "btn btn-small btn-ghost", type: "button", text: "Copy" });
    copy.addEventListener("click", async () => {
      const ok = await copyText(this.data.content);
      copy.textContent = ok ? "Copied" : "Copy failed";
      setTimeout(() => { copy.textContent = "Copy"; }, 1500);
    });
    return el("span", { class: "msg-actions" }, menu, copy);
  }

  /** A choice of the Apply menu: the menu closes and the keyboard stays on it (the review returns there). */
  pickApply(ev, mode) {
    const menu = ev.target.closest("details");
    menu.open = false;
    menu.querySelector("summary").focus();
    this.apply(mode);
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

  async apply(requested) {
    try {
      let mode = requested;
      let data; // the user reviews the change first; null: they cancelled
      if (mode === "passage") {
        const done = await replacePassage(this.chat, this.data);
        if (!done) return;
        ({ data, mode } = done);
      } else data = await reviewReply(this.chat, this.id, mode);
      if (!data) return;
      this.applied = { mode, version: data.section.version, previousVersion: data.previous_version, undone: false,
        previousContent: data.previous_content };
      this.chat.sectionUpdated(data.section);
      this.renderApplied();
    } catch (err) {
      toast(`Could not apply the reply: ${err.message}`, { kind: "error" });
    }
  }

  async undo() {
    const a = this.applied;
    const section = this.chat.section;
    const keyboard = this.applyBox.contains(document.activeElement); // Undo goes: the keyboard stays with the reply
    try {
      const data = await post(
        `/api/documents/${this.chat.documentId}/sections/${section.id}/versions/${a.previousVersion}/revert`);
      a.undone = true;
      a.undoneVersion = data.section.version;
      this.chat.sectionUpdated(data.section);
      this.renderApplied();
      const menu = this.node.querySelector(".apply-menu summary");
      if (keyboard && (!document.activeElement || document.activeElement === document.body)) (menu || this.chat.input).focus();
    } catch (err) {
      toast(`Could not undo: ${err.message}`, { kind: "error" });
    }
  }

  renderApplied() {
    this.renderAppliedNote();
    this.refresh();
  }

  renderAppliedNote() {
    const a = this.applied;
    if (!a || !this.applyBox) return;
    const state = appliedState(a, this.chat.section);
    const key = `${state} ${a.version}`;
    if (this.applyBox.dataset.key === key) return; // unchanged: keep the node (and the focus on Undo)
    this.applyBox.dataset.key = key;
    if (state === "undone") {
      this.applyBox.replaceChildren(el("span", { text: `Undone — the section text is back as it was (version ${a.undoneVersion || this.chat.section.version}).` }));
      this.applyBox.hidden = false;
      return;
    }
    const what = { replace: "Replaced the section text", passage: "Replaced the passage" }[a.mode] || "Appended to the section";
    if (state === "changed") {
      this.applyBox.replaceChildren(el("span", { text: `${what} as version ${a.version}; the section has changed since.` }));
    } else {
      this.applyBox.replaceChildren(el("span", { text: `${what} (now version ${a.version}). ` }),
        el("button", { class: "btn btn-small btn-link undo-btn", type: "button", text: "Undo", onclick: () => this.undo() }));
    }
    this.applyBox.hidden = false;
  }

  /** What depends on the chat's state: Retry on the latest reply only, the stale-version note. */
  refresh() {
    const m = this.data;
    for (const b of this.node.querySelectorAll(".branch-bar .btn")) b.classList.toggle("is-busy", this.chat.generating);
    if (m.role !== "assistant" || !this.staleBox) return;
    this.renderAppliedNote(); // an undo or an edit elsewhere changes what the apply note says
    const latest = this.chat.isLast(this.id) && !this.chat.generating;
    if (this.retryBtn) this.retryBtn.hidden = !latest;
    if (this.continueBtn) this.continueBtn.hidden = !latest;
    const current = this.chat.section ? this.chat.section.version : null;
    const appliedHere = (this.applied && appliedState(this.applied, this.chat.section) === "applied")
      || this.chat.tools.explains(m, current);
    const stale = current !== null && m.section_version != null && m.section_version < current
      && !seesCurrentText(m, this.chat.section)
      && m.status !== "streaming" && (m.content || "").trim() && !appliedHere && !this.steps;
    // Only someone who may write in the chat is offered "Ask again" (replaceChildren would write a null as "null").
    const askAgain = this.chat.canWriteChat
      ? [el("button", { class: "btn btn-small btn-link", type: "button", text: "Ask again", onclick: () => this.chat.askAgain(this) })]
      : [];
    this.staleBox.hidden = !stale;
    if (stale) {
      this.staleBox.replaceChildren(
        el("span", { text: `Based on version ${m.section_version}; the section has changed (now version ${current}). ` }),
        ...askAgain);
    }
  }
}
