// The document page's Export menu: downloads of the document as Markdown, JSON, DOCX or a bundle to import elsewhere.
import { el } from "./ui.js";

const FORMATS = [
  ["markdown", "Markdown", "Readable text, sections as headings"],
  ["markdown&chats=1", "Markdown with chats", "The chat transcripts after the sections"],
  ["json", "JSON", "Everything, for programs"],
  ["docx", "Word (DOCX)", "Headings at their levels, references as quotes"],
  ["bundle", "Bundle (.zip)", "With history and chats, to import on another server"],
];

class ExportMenu {
  constructor(documentId, anchor) {
    const base = `/api/documents/${encodeURIComponent(documentId)}/export?format=`;
    this.button = el("button", {
      id: "export-btn", class: "btn btn-small", type: "button", text: "Export",
      "aria-haspopup": "menu", "aria-expanded": "false", "aria-controls": "export-menu",
      onclick: () => (this.menu.hidden ? this.open() : this.close()),
    });
    this.items = FORMATS.map(([format, label, hint]) => el("a", {
      class: "export-item", role: "menuitem", href: base + format, download: "", tabindex: "-1",
      dataset: { format: format.split("&")[0] + (format.includes("chats") ? "-chats" : "") },
      onclick: () => this.close(false),
    }, el("span", { class: "export-label", text: label }), el("span", { class: "export-hint", text: hint })));
    this.menu = el("div", { id: "export-menu", class: "export-menu", role: "menu", "aria-label": "Export as", hidden: true },
      this.items);
    this.menu.addEventListener("keydown", (ev) => this.onKey(ev));
    this.wrap = el("span", { class: "export-wrap" }, this.button, this.menu);
    anchor.before(this.wrap);
    document.addEventListener("click", (ev) => { if (!this.menu.hidden && !this.wrap.contains(ev.target)) this.close(false); });
  }

  open() {
    this.menu.hidden = false;
    this.button.setAttribute("aria-expanded", "true");
    this.items[0].focus();
  }

  close(focusButton = true) {
    this.menu.hidden = true;
    this.button.setAttribute("aria-expanded", "false");
    if (focusButton) this.button.focus();
  }

  onKey(ev) {
    const at = this.items.indexOf(document.activeElement);
    const step = { ArrowDown: 1, ArrowUp: -1 }[ev.key];
    if (step) {
      ev.preventDefault();
      this.items[(at + step + this.items.length) % this.items.length].focus();
    } else if (ev.key === "Home" || ev.key === "End") {
      ev.preventDefault();
      this.items[ev.key === "Home" ? 0 : this.items.length - 1].focus();
    } else if (ev.key === "Escape" || ev.key === "Tab") {
      if (ev.key === "Escape") ev.preventDefault();
      this.close(ev.key === "Escape");
    }
  }
}

const pane = document.getElementById("sections-pane");
const anchor = document.getElementById("share-btn");
if (pane && anchor) new ExportMenu(pane.dataset.documentId, anchor);
