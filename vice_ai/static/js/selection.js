// Asking about a selection: the floating "Ask about this" / "Rewrite this" control on text selected in a
// section, its shortcuts (Alt+Shift+A, Alt+Shift+E), the quoted passage in the composer, the quote on messages,
// and "Replace the passage" (reviewed like every applied reply; a passage that moved asks the user).
import { reviewReply } from "./review-flows.js";
import { el, toast, confirmAction } from "./ui.js";

const QUOTE_CHARS = 280;
export const REWRITE_PROMPT = "Rewrite this passage so it reads more clearly.";

// Offsets on the server count code points; a textarea counts UTF-16 units.
const points = (text) => Array.from(text).length;
const units = (text, pointOffset) => Array.from(text).slice(0, pointOffset).join("").length;

function shortQuote(text) {
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length > QUOTE_CHARS ? `${flat.slice(0, QUOTE_CHARS)}…` : flat;
}

/** A message's selection reference, if it has one. */
export function selectionOf(message) {
  return ((message && message.references) || []).find((r) => r && r.kind === "selection") || null;
}

/** Select the passage in its section's text (found again by its text if the section changed). */
export function showPassage(ref) {
  const card = document.querySelector(`.section-card[data-id="${CSS.escape(ref.section_id)}"]`);
  const area = card && card.querySelector("textarea.sec-content");
  if (!area) { toast("That section is not on this page any more."); return; }
  const value = area.value;
  let start = units(value, ref.start);
  let end = units(value, ref.end);
  if (value.slice(start, end) !== ref.text) {
    start = value.indexOf(ref.text);
    if (start < 0) { toast("The passage is no longer in the section."); return; }
    end = start + ref.text.length;
  }
  card.scrollIntoView({ block: "nearest" });
  area.focus({ preventScroll: true });
  area.setSelectionRange(start, end);
}

/** The quoted passage a message is about (a click selects it in the section), or "" when it has none. */
export function passageQuote(message) {
  const ref = selectionOf(message);
  if (!ref) return "";
  const label = message.role === "user" ? "About the passage" : "Reply about the passage";
  return el("button", { class: "passage-quote", type: "button", title: "Select this passage in the section", dataset: { start: ref.start, end: ref.end },
    onclick: () => showPassage(ref) },
  el("span", { class: "passage-label small", text: `${label} (v${ref.section_version})` }),
  el("q", { class: "passage-text", text: shortQuote(ref.text) }));
}

/**
 * Replace only the passage a reply is about: the one call the page makes for it (the review dialog can wrap it).
 * A passage the section lost or now holds twice (409 passage_moved) asks the user whether to append instead.
 * Returns {data, mode} as applied, or null when nothing was written.
 */
export async function replacePassage(chat, message) {
  try {
    const data = await reviewReply(chat, message.id, "passage");
    return data && { data, mode: "passage" };
  } catch (err) {
    if (!(err.status === 409 && err.details && err.details.code === "passage_moved")) throw err;
    const why = err.details.reason === "ambiguous"
      ? `The passage now appears ${err.details.occurrences} times in the section, so it is not clear which one to replace.`
      : "The passage was changed or removed since you asked, so it cannot be found in the section.";
    const ok = await confirmAction(`${why} Append the reply to the end of the section instead?`, "Append instead");
    if (!ok) return null;
    const data = await reviewReply(chat, message.id, "append");
    return data && { data, mode: "append" };
  }
}

/** The quoted passage above the composer, sent with the next message. */
export class PassageChip {
  constructor(input) {
    this.ref = null;
    this.node = el("div", { class: "passage-chip", hidden: true, role: "status" });
    input.before(this.node);
  }

  set(ref) {
    this.ref = ref;
    const remove = el("button", { class: "passage-chip-remove", type: "button", "aria-label": "Remove the passage", title: "Remove the passage", text: "×", onclick: () => this.clear() });
    this.node.replaceChildren(el("span", { class: "passage-label small", text: "About the passage" }),
      el("q", { class: "passage-text", text: shortQuote(ref.text) }), remove);
    this.node.hidden = false;
  }

  clear() {
    this.ref = null;
    this.node.hidden = true;
    this.node.replaceChildren();
  }

  /** The references the next message carries. */
  references() { return this.ref ? [this.ref] : []; }
}

/**
 * The floating control on text selected in a section's textarea. `sectionOf(id)` gives the section as saved,
 * `flush(id)` saves unsaved typing first (resolves to the saved section, or null), `canAsk()` says whether the
 * user may ask here, `onAsk(ref, intent)` ("ask" | "rewrite") takes the selection to the chat.
 */
export class SelectionAsk {
  constructor({ list, sectionOf, flush, canAsk, onAsk }) {
    Object.assign(this, { list, sectionOf, flush, canAsk, onAsk });
    this.area = null;
    this.askBtn = el("button", { class: "btn btn-small", type: "button", text: "Ask about this", title: "Ask about the selected text (Alt+Shift+A)" });
    this.rewriteBtn = el("button", { class: "btn btn-small", type: "button", text: "Rewrite this", title: "Ask for a rewrite of the selected text (Alt+Shift+E)" });
    this.bar = el("div", { class: "selection-bar", role: "toolbar", "aria-label": "Selected text", hidden: true }, this.askBtn, this.rewriteBtn);
    document.body.append(this.bar);
    for (const [button, intent] of [[this.askBtn, "ask"], [this.rewriteBtn, "rewrite"]]) {
      button.addEventListener("mousedown", (ev) => ev.preventDefault()); // keep the textarea's selection
      button.addEventListener("click", () => this.take(intent));
    }
    const check = (ev) => this.check(ev);
    for (const type of ["mouseup", "keyup", "select"]) list.addEventListener(type, check, true);
    list.addEventListener("keydown", (ev) => this.shortcut(ev), true);
    list.addEventListener("focusout", () => setTimeout(() => { if (!this.bar.contains(document.activeElement)) this.hide(); }, 0));
    list.addEventListener("scroll", () => this.hide(), { passive: true });
    window.addEventListener("resize", () => this.hide());
  }

  textarea(node) {
    return node instanceof HTMLTextAreaElement && node.classList.contains("sec-content") ? node : null;
  }

  check(ev) {
    const area = this.textarea(ev.target);
    if (!area || area.selectionStart === area.selectionEnd || !this.canAsk() || !area.value.slice(area.selectionStart, area.selectionEnd).trim()) {
      if (area || ev.type === "mouseup") this.hide();
      return;
    }
    this.area = area;
    // Below the line the mouse let go on; from the keyboard (or a touch), under the textarea.
    const box = area.getBoundingClientRect();
    const x = ev.type === "mouseup" ? ev.clientX : box.left + box.width / 2;
    const y = ev.type === "mouseup" ? ev.clientY + 20 : Math.min(box.bottom + 6, window.innerHeight - 60);
    this.bar.hidden = false;
    const width = this.bar.offsetWidth;
    const height = this.bar.offsetHeight;
    this.bar.style.left = `${Math.max(4, Math.min(x - width / 2, window.innerWidth - width - 4))}px`;
    this.bar.style.top = `${Math.max(4, Math.min(y, window.innerHeight - height - 4))}px`;
  }

  hide() {
    this.bar.hidden = true;
  }

  shortcut(ev) {
    if (!ev.altKey || !ev.shiftKey || ev.ctrlKey || ev.metaKey) return;
    const intent = ev.code === "KeyA" ? "ask" : ev.code === "KeyE" ? "rewrite" : null;
    const area = this.textarea(ev.target);
    if (!intent || !area) return;
    ev.preventDefault();
    this.area = area;
    this.take(intent);
  }

  /** The selection as a reference to the saved version of its section (unsaved typing is saved first). */
  async take(intent) {
    const area = this.area;
    this.hide();
    if (!area || !this.canAsk()) return;
    const card = area.closest(".section-card");
    const id = card && card.dataset.id;
    let start = area.selectionStart;
    let end = area.selectionEnd;
    if (!id || start === end) { toast("Select some text of the section first."); return; }
    let section = this.sectionOf(id);
    if (section && area.value !== section.content) section = await this.flush(id);
    if (!section || area.value !== section.content) {
      toast("Save the section first: its text differs from the saved version.", { kind: "error" });
      return;
    }
    start = points(area.value.slice(0, start));
    end = start + points(area.value.slice(area.selectionStart, area.selectionEnd));
    const text = area.value.slice(area.selectionStart, area.selectionEnd);
    this.onAsk({ kind: "selection", section_id: id, section_version: section.version, start, end, text }, intent);
  }
}

/** ChatPane methods: take a selection to the composer ("rewrite" also fills in the request). */
export const passageMethods = {
  askAbout(ref, intent) {
    if (!this.section || this.section.id !== ref.section_id || this.input.disabled) {
      toast("You cannot ask about this section here.", { kind: "error" });
      return;
    }
    this.passageChip.set(ref);
    if (intent === "rewrite" && !this.input.value.trim()) {
      this.input.value = REWRITE_PROMPT;
      this.input.dispatchEvent(new Event("input"));
    }
    this.input.focus();
    this.input.setSelectionRange(this.input.value.length, this.input.value.length);
  },
};
