// A section's Preview / Edit toggle: its saved text as the server rendered and sanitized it
// (GET …/rendered?section=), a header section's title as a heading at its level.
import { get } from "./api.js";
import { el, toast } from "./ui.js";
import { addCopyButtons } from "./code-copy.js";

/** The heading (or title line) of a rendered section: textContent only, the title is the user's text. */
export function sectionHeading(section, fallback = "Untitled section") {
  const text = section.title || fallback;
  return section.heading
    ? el(`h${section.heading}`, { class: "read-heading", text })
    : el("p", { class: "read-title", text });
}

/** Server-sanitized HTML of a section into `box` (the only innerHTML this module writes). */
export function fillRendered(box, section) {
  box.innerHTML = section.html || "";
  if (!section.html) box.append(el("p", { class: "muted read-empty", text: "No text yet." }));
  addCopyButtons(box);
}

export class SectionPreview {
  constructor(card) {
    this.card = card;
    this.on = false;
    this.loaded = null; // the section version shown
    this.button = el("button", { class: "btn btn-small btn-ghost preview-toggle", type: "button", "aria-pressed": "false",
      title: "Show this section formatted (Markdown)", text: "Preview" });
    this.box = el("div", { class: "sec-preview", hidden: true, tabindex: "0", "aria-label": "Formatted section" });
    this.button.addEventListener("click", (ev) => { ev.stopPropagation(); this.toggle(); });
    this.box.addEventListener("dblclick", () => { if (card.pane.editable) { this.toggle(false); card.content.focus(); } });
    card.historyBtn.before(this.button);
    card.content.after(this.box);
  }

  async toggle(on = !this.on) {
    this.on = on;
    this.button.textContent = on ? "Edit" : "Preview";
    this.button.setAttribute("aria-pressed", String(on));
    this.button.title = on ? "Back to the text" : "Show this section formatted (Markdown)";
    this.card.node.classList.toggle("is-previewing", on);
    this.box.hidden = !on;
    if (!on) { this.card.fit(); return; }
    // Unsaved typing is saved first, so the preview shows what is typed.
    if (this.card.isDirty() && this.card.pane.editable) { this.card.saveSoon.cancel(); await this.card.save(); }
    await this.load();
  }

  /** The section changed (saved here, in another tab, by a reply): show its new text if previewing. */
  changed() {
    if (this.on && this.card.section.version !== this.loaded) this.load();
  }

  async load() {
    const card = this.card;
    try {
      const data = await get(`/api/documents/${card.pane.documentId}/rendered?section=${encodeURIComponent(card.id)}`);
      const section = data.sections[0];
      if (!this.on) return;
      this.loaded = section.version;
      const body = el("div", { class: "md" });
      fillRendered(body, section);
      this.box.replaceChildren(...(section.heading ? [sectionHeading(section)] : []), body);
    } catch (err) {
      toast(`Could not show the preview: ${err.message}`, { kind: "error" });
    }
  }
}
