// Read mode: the whole document top to bottom, as the server rendered and sanitized it,
// header sections as headings at their levels; a section's "Edit" goes back to it.
import { get } from "./api.js";
import { el, debounce } from "./ui.js";
import { sectionHeading, fillRendered } from "./preview.js";

export class Reader {
  constructor({ documentId, button, box, editing, onEdit }) {
    this.documentId = documentId;
    this.button = button;
    this.box = box;
    this.editing = editing; // what Read mode hides: the section list and its controls
    this.onEdit = onEdit;
    this.on = false;
    this.reloadSoon = debounce(() => this.load(), 400);
    button.addEventListener("click", () => this.toggle());
  }

  toggle(on = !this.on) {
    this.on = on;
    this.button.textContent = on ? "Edit" : "Read";
    this.button.setAttribute("aria-pressed", String(on));
    this.button.title = on ? "Back to editing the sections" : "Read the whole document, formatted";
    this.box.hidden = !on;
    for (const node of this.editing) node.classList.toggle("is-reading-hidden", on);
    if (on) this.load();
  }

  /** A section changed on this page or elsewhere: read it again (soon, once for a burst). */
  changed() {
    if (this.on) this.reloadSoon();
  }

  async load() {
    let doc;
    try {
      doc = await get(`/api/documents/${this.documentId}/rendered`);
    } catch (err) {
      this.box.replaceChildren(el("p", { class: "inline-error", text: `Could not load the document: ${err.message}` }));
      return;
    }
    if (!this.on) return;
    const parts = [];
    if (doc.description) parts.push(el("p", { class: "read-description muted", text: doc.description }));
    for (const section of doc.sections) {
      const body = el("div", { class: "md read-body" });
      if (section.html || !section.heading) fillRendered(body, section);
      const edit = el("button", { class: "btn btn-small btn-ghost read-edit", type: "button", text: "Edit",
        "aria-label": `Edit “${section.title || "Untitled section"}”`, onclick: () => { this.toggle(false); this.onEdit(section.id); } });
      parts.push(el("section", { class: `read-section read-${section.type}`, dataset: { id: section.id } },
        el("div", { class: "read-head" }, sectionHeading(section), edit), section.html || !section.heading ? body : null));
    }
    if (!doc.sections.length) parts.push(el("p", { class: "muted", text: "No sections yet." }));
    this.box.replaceChildren(el("article", { class: "reader-doc" }, ...parts));
  }
}
