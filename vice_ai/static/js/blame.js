// "Where from": a section's text paragraph by paragraph, each marked with the version that last changed it, who or
// what changed it (an edit, a revert, a chat reply, an accepted suggestion) and when (GET .../blame). A paragraph
// written from a chat opens that chat at that message through the document page's URL hash contract
// `#section=<id>&chat=<id>&message=<id>` (document.js follows it, search.js's `reveal` marks the message).
import { get } from "./api.js";
import { el, relativeTime, fullTime } from "./ui.js";
import { reveal } from "./search.js";

const toggles = new Map(); // section id -> its BlameToggle

function quoted(title) {
  return title ? `“${title}”` : "a deleted chat";
}

/** What made a version, in a few words: "reply in “Tighten intro”", "revert to v3", "edit". */
export function sourceLabel(source) {
  switch (source.kind) {
    case "created": return "created";
    case "edit": return "edit";
    case "revert": return source.from_version ? `revert to v${source.from_version}` : "revert";
    case "reply": return `reply in ${quoted(source.session_title)}`;
    case "suggestion": return `suggestion accepted in ${quoted(source.session_title)}`;
    default: return source.kind;
  }
}

/** "v4 · reply in “Tighten intro” · alice · 2 h ago" */
export function versionLabel(v) {
  const parts = [`v${v.version}`, sourceLabel(v.source)];
  if (v.source.username) parts.push(v.source.username);
  parts.push(relativeTime(v.created_at));
  return parts.join(" · ");
}

/** Where a version's chat message opens: this page with the section, chat and message in the hash. */
export function messageHash(sectionId, source) {
  const params = new URLSearchParams({ section: sectionId, chat: source.session_id, message: source.message_id });
  return `#${params}`;
}

function opensChat(source) {
  return Boolean(source.session_id && source.message_id && source.session_title);
}

/** Open a chat at a message: change the hash (document.js selects section and chat), then mark the message. */
export function openMessage(sectionId, source) {
  const hash = messageHash(sectionId, source);
  if (location.hash === hash) window.dispatchEvent(new HashChangeEvent("hashchange"));
  else location.hash = hash;
  reveal(source.message_id);
}

/** Open a section's "Where from" view with a version's text marked (from a chat message's "Made v5"). */
export function openBlame(sectionId, version) {
  const toggle = toggles.get(sectionId);
  if (toggle) toggle.show(version);
}

/** A section was saved, reverted or replaced on this page: its open "Where from" view follows. */
export function sectionBlameChanged(sectionId) {
  const toggle = toggles.get(sectionId);
  if (toggle) toggle.sectionChanged();
}

export class BlameToggle {
  /** Adds a "Where from" button and its box to a section card (sections.js). */
  constructor(card) {
    this.card = card;
    this.focus = null; // the version to mark
    this.asOf = null; // null: the current text
    this.button = el("button", { class: "btn btn-small btn-ghost blame-btn", type: "button", "aria-expanded": "false",
      "aria-label": "Where this text came from", title: "Which version, chat reply or edit wrote each paragraph",
      text: "Where from", onclick: () => (this.box.hidden ? this.show() : this.hide()) });
    this.box = el("div", { class: "blame", hidden: true });
    card.historyBtn.before(this.button);
    card.historyBox.after(this.box);
    toggles.set(card.id, this);
  }

  get sectionId() { return this.card.id; }

  async show(version = null) {
    this.focus = version;
    this.asOf = null;
    this.box.hidden = false;
    this.button.setAttribute("aria-expanded", "true");
    await this.load();
    if (version != null) this.card.node.scrollIntoView({ block: "nearest" });
    const marked = this.box.querySelector(".blame-para.is-focus");
    if (marked) marked.scrollIntoView({ block: "center" });
  }

  hide() {
    this.box.hidden = true;
    this.button.setAttribute("aria-expanded", "false");
    this.box.replaceChildren();
  }

  /** The section changed (saved here or elsewhere): show the new blame if open. */
  sectionChanged() {
    if (!this.box.hidden && this.asOf == null) this.load();
  }

  async load() {
    const query = this.asOf != null ? `?version=${this.asOf}` : "";
    const asked = (this.asked = (this.asked || 0) + 1);
    let data;
    try {
      data = await get(`/api/documents/${this.card.pane.documentId}/sections/${this.sectionId}/blame${query}`);
    } catch (err) {
      if (asked === this.asked) this.box.replaceChildren(el("p", { class: "inline-error", text: err.message }));
      return;
    }
    if (asked === this.asked && !this.box.hidden) this.render(data);
  }

  render(data) {
    const byVersion = new Map(data.versions.map((v) => [v.version, v]));
    const head = el("div", { class: "blame-head" }, el("h3", { text: "Where this text came from" }));
    if (data.version !== data.current_version) {
      head.append(el("span", { class: "muted small", text: `As of v${data.version} (now v${data.current_version})` }),
        el("button", { class: "btn btn-small btn-link", type: "button", text: "Show the current text",
          onclick: () => { this.asOf = null; this.load(); } }));
    }
    const rows = data.paragraphs.map((p) => this.paragraph(p, byVersion));
    const nodes = [head];
    if (!rows.length) nodes.push(el("p", { class: "muted small", text: "This section has no text yet." }));
    const focus = this.focus;
    if (focus != null && !rows.some((row) => row.classList.contains("is-focus"))) {
      nodes.push(el("p", { class: "blame-note small" },
        `Nothing v${focus} wrote is left in ${data.version === data.current_version ? "the current text" : `v${data.version}`}. `,
        data.version === focus ? null : el("button", { class: "btn btn-small btn-link", type: "button",
          text: `Show the text of v${focus}`, onclick: () => { this.asOf = focus; this.load(); } })));
    }
    nodes.push(el("ol", { class: "blame-list", "aria-label": "Paragraphs and where they came from" }, rows));
    this.box.replaceChildren(...nodes);
  }

  paragraph(p, byVersion) {
    const text = el("div", { class: "blame-text" });
    for (const s of p.sentences.length ? p.sentences : [{ text: p.text, version: p.version }]) {
      if (text.childNodes.length) text.append(" ");
      const other = s.version !== p.version && byVersion.get(s.version);
      text.append(other
        ? el("span", { class: "blame-older", title: `This sentence: ${versionLabel(other)}`, text: s.text })
        : s.text);
    }
    const label = el("div", { class: "blame-label small" },
      el("span", { class: "blame-version", text: `v${p.version}` }),
      el("span", { text: sourceLabel(p.source) }),
      p.source.username ? el("span", { class: "blame-user", text: p.source.username }) : null,
      el("time", { datetime: p.created_at, title: fullTime(p.created_at), text: relativeTime(p.created_at) }),
      this.chatLink(p.source, "Open the message"));
    const origin = p.origin
      ? el("div", { class: "blame-origin small muted" }, `First written in ${versionLabel(p.origin)} `,
        this.chatLink(p.origin.source, "Open"))
      : null;
    const focus = this.focus != null && (p.version === this.focus || (p.origin && p.origin.version === this.focus)
      || p.sentences.some((s) => s.version === this.focus));
    return el("li", { class: `blame-para${focus ? " is-focus" : ""}`, dataset: { kind: p.source.kind, version: p.version },
      title: p.summary || "" }, text, label, origin);
  }

  chatLink(source, text) {
    if (!opensChat(source)) return null;
    return el("a", { class: "blame-open", href: messageHash(this.sectionId, source), text,
      title: `Open ${quoted(source.session_title)} at the message`,
      onclick: (ev) => { ev.preventDefault(); ev.stopPropagation(); openMessage(this.sectionId, source); } });
  }
}
