// The left pane: the document's sections in order, edited in place with a version check.
import { get, post, patch, del } from "./api.js";
import { el, toast, confirmAction, relativeTime, fullTime, autoGrow, debounce } from "./ui.js";
import { BlameToggle } from "./blame.js";
import { SectionPreview } from "./preview.js";
import { changesButton, reviewRevert } from "./review-flows.js";
import { SectionKeeper, clashes } from "./section-drafts.js";

const TYPES = [["text", "Text"], ["header", "Header"], ["reference", "Reference"]];
const STATUSES = ["draft", "generated", "reviewed", "approved"];
const SAVE_AFTER_MS = 1200;

class SectionCard {
  constructor(pane, section) {
    this.pane = pane;
    this.section = section;
    this.saving = false;
    this.again = false;
    this.conflict = null;
    this.build();
    this.update(section, { force: true });
    this.setEditable(pane.editable);
    this.keeper = new SectionKeeper(this); // drafts in this browser, retried saves (section-drafts.js)
  }

  /** Read-only access: the text can be read and selected, nothing offers a change the server would refuse. */
  setEditable(on) {
    this.titleInput.readOnly = !on;
    this.content.readOnly = !on;
    for (const select of [this.typeSelect, this.levelSelect, this.statusSelect]) select.disabled = !on;
    for (const button of [this.upBtn, this.downBtn, this.deleteBtn]) button.hidden = !on;
    this.content.placeholder = on ? this.placeholder() : "";
    if (!this.historyBox.hidden) this.loadHistory();
  }

  placeholder() {
    return this.section.type === "header" ? "Optional text under this heading…" : "Write this section…";
  }

  get id() { return this.section.id; }

  build() {
    const s = this.section;
    this.typeSelect = el("select", { class: "sec-type", "aria-label": "Section type", title: "Section type" },
      TYPES.map(([value, label]) => el("option", { value, text: label })));
    this.levelSelect = el("select", { class: "sec-level", "aria-label": "Level", title: "Level (1 = top)" },
      [1, 2, 3, 4, 5, 6].map((n) => el("option", { value: n, text: `Level ${n}` })));
    this.statusSelect = el("select", { class: "status-badge", "aria-label": "Status", title: "Status" },
      STATUSES.map((value) => el("option", { value, text: value })));
    this.titleInput = el("input", { class: "sec-title", "aria-label": "Section title", maxlength: 300, placeholder: "Section title" });
    this.content = el("textarea", { class: "sec-content", "aria-label": "Section text", rows: 1, placeholder: "Write this section…" });
    this.meta = el("span", { class: "sec-meta muted small" });
    this.newMark = el("span", { class: "new-reply", hidden: true, title: "A reply finished in this section", text: "● New reply" });
    this.upBtn = el("button", { class: "icon-btn", type: "button", title: "Move up (Alt+↑)", "aria-label": "Move up", text: "↑" });
    this.downBtn = el("button", { class: "icon-btn", type: "button", title: "Move down (Alt+↓)", "aria-label": "Move down", text: "↓" });
    this.historyBtn = el("button", { class: "btn btn-small btn-ghost", type: "button", "aria-expanded": "false", "aria-label": "Section history", text: "History" });
    this.deleteBtn = el("button", { class: "btn btn-small btn-ghost btn-danger-text", type: "button", "aria-label": "Delete section", text: "Delete" });
    this.conflictBox = el("div", { class: "conflict", role: "alert", hidden: true });
    this.historyBox = el("div", { class: "history", hidden: true });
    this.node = el("article", { class: "section-card", dataset: { id: s.id }, tabindex: "-1" },
      el("div", { class: "card-head" },
        el("div", { class: "card-controls" }, this.typeSelect, this.levelSelect, this.statusSelect, this.newMark),
        el("div", { class: "card-actions" }, this.meta, this.upBtn, this.downBtn, this.historyBtn, this.deleteBtn)),
      this.titleInput, this.content, this.conflictBox, this.historyBox);
    this.blame = new BlameToggle(this); // "Where from" (blame.js)

    this.fit = autoGrow(this.content);
    this.preview = new SectionPreview(this);
    this.saveSoon = debounce(() => this.save(), SAVE_AFTER_MS);
    for (const input of [this.titleInput, this.content]) {
      input.addEventListener("input", () => { this.showMeta("Unsaved changes"); this.keeper.sync(); this.saveSoon(); });
      input.addEventListener("blur", () => { if (this.isDirty()) { this.saveSoon.cancel(); this.save(); } });
    }
    this.titleInput.addEventListener("keydown", (ev) => {
      if (ev.key === "Enter") { ev.preventDefault(); this.content.focus(); }
    });
    this.content.addEventListener("keydown", (ev) => {
      if (ev.key === "Escape") this.content.blur();
      if (ev.key === "s" && (ev.ctrlKey || ev.metaKey)) { ev.preventDefault(); this.saveSoon.cancel(); this.save(); }
    });
    this.typeSelect.addEventListener("change", () => this.saveFields({ type: this.typeSelect.value }));
    this.levelSelect.addEventListener("change", () => this.saveFields({ level: Number(this.levelSelect.value) }));
    this.statusSelect.addEventListener("change", () => this.saveFields({ status: this.statusSelect.value }));
    this.upBtn.addEventListener("click", () => this.pane.move(this, "up"));
    this.downBtn.addEventListener("click", () => this.pane.move(this, "down"));
    this.deleteBtn.addEventListener("click", () => this.pane.remove(this));
    this.historyBtn.addEventListener("click", () => this.toggleHistory());
    this.node.addEventListener("focusin", () => this.pane.select(this.id));
    this.node.addEventListener("click", () => this.pane.select(this.id));
    this.node.addEventListener("keydown", (ev) => {
      if (ev.altKey && (ev.key === "ArrowUp" || ev.key === "ArrowDown")) {
        ev.preventDefault();
        this.pane.move(this, ev.key === "ArrowUp" ? "up" : "down");
      }
    });
  }

  isDirty() {
    return this.titleInput.value !== this.section.title || this.content.value !== this.section.content;
  }

  /** Take the server's copy; the text fields too unless the user has unsaved edits (or `force`). */
  update(section, { force = false } = {}) {
    const mine = this.section;
    // An older copy (an answer that left before a newer save landed) never replaces a newer one.
    if (!force && (section.version < mine.version || (section.version === mine.version && section.updated_at < mine.updated_at))) return;
    const keepText = !force && this.isDirty();
    // The field typed here changed elsewhere too: the user chooses, the typed text is not quietly rebased.
    if (keepText && clashes(this, section)) { this.showConflict(section); return; }
    const stillSaved = !keepText && section.version === mine.version && this.meta.textContent.endsWith("· Saved");
    this.section = section;
    // Typing is kept; a field not typed in here takes the server's copy (it may have changed elsewhere).
    if (!keepText || this.titleInput.value === mine.title) this.titleInput.value = section.title;
    if (!keepText || this.content.value === mine.content) { this.content.value = section.content; this.fit(); }
    this.typeSelect.value = section.type;
    this.levelSelect.value = String(section.level);
    this.statusSelect.value = section.status;
    this.statusSelect.dataset.status = section.status;
    this.node.dataset.type = section.type;
    this.node.dataset.level = String(section.level);
    this.content.placeholder = this.pane.editable ? this.placeholder() : "";
    if (force) this.hideConflict(); // first: the label says "Conflict" while one waits for the user's choice
    this.showMeta(this.isDirty() ? "Unsaved changes" : stillSaved ? "Saved" : null);
    if (!this.historyBox.hidden) this.loadHistory();
    if (this.preview) this.preview.changed();
    if (this.keeper) this.keeper.sync();
  }

  showMeta(wanted) {
    const state = this.conflict ? "Conflict" : wanted, v = `v${this.section.version}`; // typing, saving: still unresolved
    this.meta.textContent = state ? `${v} · ${state}` : v;
    this.meta.title = `Version ${this.section.version}, last change ${fullTime(this.section.updated_at)}`;
    this.node.classList.toggle("is-dirty", state === "Unsaved changes");
  }

  url(suffix = "") {
    return `/api/documents/${this.pane.documentId}/sections/${this.id}${suffix}`;
  }

  async save() {
    if (this.conflict || !this.pane.editable) return; // the user decides first; a reader saves nothing
    if (this.saving) { this.again = true; return; }
    const body = { version: this.section.version };
    const title = this.titleInput.value;
    const content = this.content.value;
    if (title !== this.section.title) body.title = title;
    if (content !== this.section.content) body.content = content;
    if (Object.keys(body).length === 1) { if (this.node.classList.contains("is-dirty")) this.showMeta(null); return; } // nothing new: "Saved" stays
    this.saving = true;
    this.keeper.sending(body);
    this.showMeta("Saving…");
    try {
      const section = await patch(this.url(), body);
      this.section = section;
      this.typeSelect.value = section.type;
      this.showMeta(this.isDirty() ? "Unsaved changes" : "Saved");
      this.keeper.saved();
      this.pane.changed(section);
    } catch (err) {
      this.keeper.failed(err); // a conflict to settle, a refusal to tell, or no answer: tried again later
    } finally {
      this.saving = false;
    }
    if (this.again) { this.again = false; if (this.isDirty()) this.save(); }
  }

  async saveFields(fields) {
    try {
      const section = await patch(this.url(), { ...fields, version: this.section.version });
      this.update(section);
      this.pane.changed(section);
    } catch (err) {
      if (err.status === 409 && err.details.section) {
        // Type, level and status carry no text to lose: take the current version and apply again.
        this.section = { ...this.section, version: err.details.current_version };
        return this.saveFields(fields);
      }
      toast(err.message, { kind: "error" });
      this.update(this.section);
    }
  }

  showConflict(theirs) {
    this.conflict = theirs;
    this.showMeta("Conflict");
    const keep = el("button", { class: "btn btn-small btn-primary", type: "button", text: "Keep my text" });
    const take = el("button", { class: "btn btn-small", type: "button", text: "Use their version" });
    keep.addEventListener("click", () => {
      // Overwrite on purpose: the next save is checked against the version just seen.
      this.section = { ...theirs };
      this.hideConflict();
      this.save();
    });
    take.addEventListener("click", () => { this.update(theirs, { force: true }); this.pane.changed(theirs); });
    this.conflictBox.replaceChildren(
      el("p", {},
        el("strong", { text: "This section was changed elsewhere " }),
        theirs.version === this.section.version ? `(its title is now “${theirs.title}”). Your text is not saved yet.`
          : `(it is now at version ${theirs.version}; you edited version ${this.section.version}). Your text is not saved yet.`),
      el("details", {}, el("summary", { text: "Show their text" }), el("pre", { class: "conflict-text", text: theirs.content || "(empty)" })),
      el("div", { class: "row-buttons" }, keep, take));
    this.conflictBox.hidden = false;
  }

  hideConflict() {
    this.conflict = null;
    this.conflictBox.hidden = true;
    this.conflictBox.replaceChildren();
  }

  async toggleHistory() {
    const open = this.historyBox.hidden;
    this.historyBox.hidden = !open;
    this.historyBtn.setAttribute("aria-expanded", String(open));
    if (open) await this.loadHistory();
  }

  async loadHistory() {
    let data;
    try {
      data = await get(this.url("/versions"));
    } catch (err) {
      this.historyBox.replaceChildren(el("p", { class: "inline-error", text: err.message }));
      return;
    }
    const items = [...data.versions].reverse().map((v) => {
      const current = v.version === data.current_version;
      const source = v.source && v.source.kind === "chat" ? "from a chat reply" : v.source && v.source.kind === "revert" ? "revert" : "edit";
      const preview = (v.content || "(empty)").slice(0, 180);
      const row = el("li", { class: `history-item${current ? " is-current" : ""}` },
        el("div", { class: "history-line" },
          el("strong", { text: `v${v.version}` }),
          el("span", { text: v.summary || "" }),
          el("span", { class: "muted small", text: source }),
          el("time", { class: "muted small", datetime: v.created_at, title: fullTime(v.created_at), text: relativeTime(v.created_at) }),
          changesButton(this.url(), v.version),
          current ? el("span", { class: "pill", text: "current" })
            : !this.pane.editable ? null
            : el("button", { class: "btn btn-small", type: "button", text: "Revert to this", onclick: () => this.revert(v.version) })),
        el("div", { class: "history-preview muted small", text: preview + (v.content && v.content.length > 180 ? "…" : "") }));
      return row;
    });
    this.historyBox.replaceChildren(el("h3", { text: "History" }), el("ol", { class: "history-list" }, items));
  }

  async revert(version) {
    try {
      const data = await reviewRevert(this.pane.documentId, this.section, version); // a reviewed change
      if (!data) return;
      const where = document.activeElement; // on its row, drawn again below, or lost with a row a live event redrew
      if (!where || where === document.body || this.historyBox.contains(where)) this.historyBtn.focus();
      this.update(data.section, { force: true });
      this.pane.changed(data.section);
      toast(`Reverted to version ${version} (now version ${data.section.version}).`);
    } catch (err) {
      toast(err.message, { kind: "error" });
    }
  }

  markNew(on) {
    this.newMark.hidden = !on;
    this.node.classList.toggle("has-new", on);
  }
}

export class SectionsPane {
  constructor({ documentId, list, countLabel, addEndButton, onSelect, onChange }) {
    this.documentId = documentId;
    this.list = list;
    this.countLabel = countLabel;
    this.onSelect = onSelect;
    this.onChange = onChange;
    this.cards = new Map();
    this.order = [];
    this.selectedId = null;
    this.editable = true;
    this.addEndButton = addEndButton;
    addEndButton.addEventListener("click", () => this.add(this.order.length));
  }

  /** Edit access ("owner"/"edit") or read only: shows or hides every control that changes the document. */
  setEditable(on) {
    if (on === this.editable) return;
    this.editable = on;
    this.addEndButton.hidden = !on;
    this.list.classList.toggle("is-readonly", !on);
    for (const card of this.cards.values()) card.setEditable(on);
    this.render();
  }

  get(id) {
    const card = this.cards.get(id);
    return card ? card.section : null;
  }

  /** Show the document's sections, keeping the cards (and any unsaved text) that already exist. */
  setSections(sections) {
    const seen = new Set();
    for (const section of sections) {
      seen.add(section.id);
      const card = this.cards.get(section.id);
      if (card) card.update(section);
      else this.cards.set(section.id, new SectionCard(this, section));
    }
    for (const id of [...this.cards.keys()]) if (!seen.has(id)) this.cards.delete(id);
    this.order = sections.map((s) => s.id);
    this.render();
    if (this.selectedId && !this.cards.has(this.selectedId)) this.select(this.order[0] || null);
  }

  render() {
    const n = this.order.length;
    this.countLabel.textContent = n === 1 ? "1 section" : `${n} sections`;
    if (this.unmoved()) return; // a refresh that found the same outline: no focused field blurs
    const nodes = [];
    this.order.forEach((id, index) => {
      if (this.editable) nodes.push(this.slot(index));
      nodes.push(this.cards.get(id).node);
    });
    if (this.order.length) { if (this.editable) nodes.push(this.slot(this.order.length)); }
    else if (!this.editable) nodes.push(el("div", { class: "empty-state" }, el("p", { text: "No sections yet." })));
    else {
      nodes.push(el("div", { class: "empty-state" },
        el("p", { text: "No sections yet — add one." }),
        el("button", { class: "btn btn-primary", type: "button", text: "+ Add the first section", onclick: () => this.add(0) })));
    }
    // Move existing nodes rather than rebuild them, so focus and typing survive.
    const active = document.activeElement;
    this.list.replaceChildren(...nodes);
    if (active && this.list.contains(active) && document.activeElement !== active) active.focus();
  }

  /** The list shows these cards in this order already, with their insert slots. */
  unmoved() {
    const shown = [...this.list.children].filter((node) => node.classList.contains("section-card"));
    return this.order.length > 0 && shown.length === this.order.length
      && shown.every((node, i) => node === this.cards.get(this.order[i]).node)
      && this.list.querySelectorAll(":scope > .insert-slot").length === (this.editable ? this.order.length + 1 : 0);
  }

  slot(position) {
    return el("div", { class: "insert-slot" },
      el("button", { class: "insert-btn", type: "button", title: "Add a section here", text: "+ Add section here", onclick: () => this.add(position) }));
  }

  select(id) {
    if (id === this.selectedId) return;
    this.selectedId = id;
    for (const card of this.cards.values()) card.node.classList.toggle("is-selected", card.id === id);
    const card = id ? this.cards.get(id) : null;
    if (card) card.markNew(false);
    this.onSelect(card ? card.section : null);
  }

  markNew(id) {
    const card = this.cards.get(id);
    if (card && id !== this.selectedId) card.markNew(true);
  }

  changed(section) {
    this.onChange(section);
  }

  /** A section changed elsewhere on this page (apply, undo): take it, text included. */
  replace(section) {
    const card = this.cards.get(section.id);
    if (card) card.update(section, { force: true });
    this.onChange(section);
  }

  async add(position) {
    try {
      const section = await post(`/api/documents/${this.documentId}/sections`, { title: "New section", position });
      const doc = await get(`/api/documents/${this.documentId}`);
      this.setSections(doc.sections);
      this.select(section.id);
      const card = this.cards.get(section.id);
      // Its title is ready to type over, unless the user is already typing in it (the live socket can show
      // the new card before this answer): never move the caret out from under them.
      if (!card.node.contains(document.activeElement)) { card.titleInput.focus(); card.titleInput.select(); }
    } catch (err) {
      toast(`Could not add a section: ${err.message}`, { kind: "error" });
    }
  }

  async move(card, direction) {
    if (!this.editable) return;
    const index = this.order.indexOf(card.id);
    if ((direction === "up" && index === 0) || (direction === "down" && index === this.order.length - 1)) return;
    const focused = document.activeElement;
    try {
      const doc = await post(`/api/documents/${this.documentId}/sections/${card.id}/move`, { direction });
      this.setSections(doc.sections);
      if (focused && card.node.contains(focused)) focused.focus();
    } catch (err) {
      toast(err.message, { kind: "error" });
    }
  }

  async remove(card) {
    const name = card.section.title || "this section";
    const ok = await confirmAction(`Delete “${name}” and its chats? This cannot be undone.`);
    if (!ok) return;
    try {
      await del(`/api/documents/${this.documentId}/sections/${card.id}`);
      const index = this.order.indexOf(card.id);
      const doc = await get(`/api/documents/${this.documentId}`);
      if (this.selectedId === card.id) this.selectedId = null;
      this.setSections(doc.sections);
      if (!this.selectedId) {
        const next = this.order[Math.min(index, this.order.length - 1)];
        if (next) this.select(next);
        else this.onSelect(null);
      }
      toast(`Deleted “${name}”.`);
    } catch (err) {
      toast(err.message, { kind: "error" });
    }
  }
}
