// The model's proposed section edits: a card each with Accept / Reject / Undo, docked above the composer.
import { get, post } from "./api.js";
import { el, toast } from "./ui.js";
import { reviewSuggestion } from "./review-flows.js";
import { appliedState } from "./stale.js";

/** A pending proposed edit of the section, with Accept / Reject and, once accepted, Undo. */
class ProposalCard {
  constructor(proposals, suggestion) {
    this.proposals = proposals;
    this.s = suggestion;
    this.accepted = null; // {version, previousVersion, undone, undoneVersion}
    this.busy = false;
    this.baseNote = el("p", { class: "proposal-base small", hidden: true });
    this.status = el("div", { class: "proposal-status small", role: "status", hidden: true });
    this.acceptBtn = el("button", { class: "btn btn-small btn-primary", type: "button", text: "Accept", onclick: () => this.accept(false) });
    this.rejectBtn = el("button", { class: "btn btn-small", type: "button", text: "Reject", onclick: () => this.reject() });
    this.readOnly = el("span", { class: "muted small", text: "Only the chat's owner or the document's owner can decide on this." });
    this.actions = el("div", { class: "row-buttons proposal-actions" }, this.acceptBtn, this.rejectBtn, this.readOnly);
    this.before = el("pre", { class: "proposal-text proposal-before" });
    this.beforeHead = el("div", { class: "proposal-col-head small muted" });
    this.compare = el("details", { class: "proposal-compare" },
      el("summary", { class: "small", text: "Compare with the current text" }),
      el("div", { class: "proposal-cols" },
        el("div", {}, this.beforeHead, this.before),
        el("div", {}, el("div", { class: "proposal-col-head small muted", text: "Proposed" }),
          el("pre", { class: "proposal-text", text: suggestion.new_content || "(empty)" }))));
    this.compare.addEventListener("toggle", () => this.fillBefore());
    this.node = el("article", { class: "proposal-card", dataset: { id: suggestion.id }, "aria-label": "Proposed edit" },
      el("div", { class: "proposal-head" },
        el("span", { class: "pill", text: "Proposed edit" }),
        el("strong", { class: "proposal-summary", text: suggestion.summary || "A new text for this section" })),
      this.baseNote,
      el("pre", { class: "proposal-text proposal-new", text: suggestion.new_content || "(empty)" }),
      this.compare, this.status, this.actions);
    this.refresh();
  }

  get id() { return this.s.id; }

  get chat() { return this.proposals.tools.chat; }

  url(action) {
    return `/api/sessions/${this.proposals.tools.sessionId}/suggestions/${this.id}/${action}`;
  }

  /** The section moved on since the proposal: say so (accepting then needs a confirmation). */
  refresh() {
    const section = this.chat.section;
    const current = section && section.id === this.s.section_id ? section.version : null;
    const moved = !this.accepted && current !== null && current !== this.s.base_version;
    this.baseNote.hidden = !moved;
    if (moved) this.baseNote.textContent = `Written for version ${this.s.base_version}; the section is now at version ${current}.`;
    // Accepting writes the section too (edit access); rejecting only writes the chat (access.py).
    this.acceptBtn.hidden = !this.chat.canApply;
    this.rejectBtn.hidden = !this.chat.canWriteChat;
    this.readOnly.hidden = this.chat.canWriteChat;
    if (this.compare.open) this.fillBefore();
    if (this.accepted) this.renderAccepted(); // undone or edited elsewhere: no stale Undo
  }

  fillBefore() {
    if (this.accepted) {
      // Once accepted, "now" is the proposal itself: compare with what it replaced.
      this.beforeHead.textContent = `Before (version ${this.accepted.previousVersion})`;
      this.before.textContent = this.accepted.previousContent || "(empty)";
      return;
    }
    const section = this.chat.section;
    const mine = section && section.id === this.s.section_id;
    this.beforeHead.textContent = mine ? `Now (version ${section.version})` : "Now";
    this.before.textContent = mine ? (section.content || "(empty)") : "(the section is not loaded)";
  }

  setBusy(on) {
    this.busy = on;
    for (const button of this.node.querySelectorAll("button")) button.disabled = on;
  }

  say(parts, kind = "info") {
    this.status.replaceChildren(...parts);
    this.status.dataset.kind = kind;
    this.status.hidden = !parts.length;
  }

  async accept(force) {
    if (this.busy) return;
    this.setBusy(true);
    try {
      // Accepting opens a review against the section as it is now; `force` (after a conflict) replaces it as proposed.
      const data = force ? await post(this.url("accept"), { force: true })
        : await reviewSuggestion(this.chat, this.proposals.tools.sessionId, this.s);
      if (!data) return;
      this.accepted = {
        version: data.section.version, previousVersion: data.previous_version,
        previousContent: data.previous_content, undone: false,
      };
      this.fillBefore();
      this.actions.hidden = true;
      this.baseNote.hidden = true;
      this.chat.sectionUpdated(data.section);
      this.renderAccepted();
    } catch (err) {
      if (err.status === 409 && err.details.current_version != null) {
        // The section was edited after the proposal: the user decides whether to overwrite.
        this.say([el("span", { text: `${err.message} ` }),
          el("button", { class: "btn btn-small btn-danger", type: "button", text: "Replace anyway", onclick: () => this.accept(true) })], "conflict");
      } else if (err.status === 409 || err.status === 404) {
        toast(err.message, { kind: "error" });
        this.proposals.refresh(); // decided in another tab, or gone
      } else {
        toast(`Could not accept the edit: ${err.message}`, { kind: "error" });
      }
    } finally {
      this.setBusy(false);
    }
  }

  async reject() {
    if (this.busy) return;
    this.setBusy(true);
    try {
      await post(this.url("reject"));
      this.proposals.drop(this.id);
      toast("Proposed edit rejected; the section is unchanged.");
    } catch (err) {
      this.setBusy(false);
      if (err.status === 409 || err.status === 404) { toast(err.message, { kind: "error" }); this.proposals.refresh(); return; }
      toast(`Could not reject the edit: ${err.message}`, { kind: "error" });
    }
  }

  async undo() {
    const a = this.accepted;
    this.setBusy(true);
    try {
      const data = await post(
        `/api/documents/${this.chat.documentId}/sections/${this.s.section_id}/versions/${a.previousVersion}/revert`);
      a.undone = true;
      a.undoneVersion = data.section.version;
      this.chat.sectionUpdated(data.section);
      this.renderAccepted();
    } catch (err) {
      toast(`Could not undo: ${err.message}`, { kind: "error" });
    } finally {
      this.setBusy(false);
    }
  }

  renderAccepted() {
    const a = this.accepted;
    this.node.dataset.state = a.undone ? "undone" : "accepted";
    const close = el("button", { class: "btn btn-small btn-link", type: "button", text: "Dismiss", onclick: () => this.proposals.drop(this.id) });
    const state = appliedState(a, this.chat.section);
    if (state === "undone") {
      this.say([el("span", { text: `Undone — the section text is back as it was (version ${a.undoneVersion || this.chat.section.version}). ` }), close], "ok");
    } else if (state === "changed") {
      this.say([el("span", { text: `Accepted as version ${a.version}; the section has changed since. ` }), close], "ok");
    } else {
      this.say([el("span", { text: `Accepted: the section now has this text (version ${a.version}). ` }),
        el("button", { class: "btn btn-small btn-link undo-btn", type: "button", text: "Undo", onclick: () => this.undo() }), close], "ok");
    }
  }
}

/** The chat's pending proposals, docked above the composer. */
export class Proposals {
  constructor(tools, box) {
    this.tools = tools;
    this.box = box;
    this.cards = new Map();
    this.token = 0;
  }

  clear() {
    this.token += 1;
    this.cards.clear();
    this.render();
  }

  async refresh() {
    const id = this.tools.sessionId;
    if (!id) return;
    const token = ++this.token;
    let data;
    try {
      data = await get(`/api/sessions/${id}/suggestions`);
    } catch (err) {
      if (err.status !== 404 && token === this.token) toast(`Could not load the proposed edits: ${err.message}`, { kind: "error" });
      return;
    }
    if (token !== this.token || id !== this.tools.sessionId) return; // a newer refresh, or another chat
    const pending = data.suggestions.filter((s) => s.status === "pending");
    const keep = new Set(pending.map((s) => s.id));
    // Cards decided here stay (with Undo); pending ones decided elsewhere go.
    for (const [sid, card] of [...this.cards]) if (!keep.has(sid) && !card.accepted) this.cards.delete(sid);
    for (const s of pending) if (!this.cards.has(s.id)) this.cards.set(s.id, new ProposalCard(this, s));
    this.render();
  }

  drop(id) {
    this.cards.delete(id);
    this.render();
  }

  sectionChanged() {
    for (const card of this.cards.values()) card.refresh();
  }

  accessChanged() {
    for (const card of this.cards.values()) card.refresh();
  }

  render() {
    this.box.replaceChildren(...[...this.cards.values()].map((c) => c.node));
    this.box.hidden = this.cards.size === 0;
  }
}
