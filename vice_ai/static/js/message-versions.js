// From a chat message to what it wrote: "Made v5" under a reply that became section versions (applied, appended,
// an accepted suggestion), opening the section's "Where from" view with that version's text marked.
// One request per chat (GET /api/sessions/<id>/versions), again after a reply is applied on this page.
import { get } from "./api.js";
import { el, relativeTime } from "./ui.js";
import { openBlame, sourceLabel } from "./blame.js";

export class MessageVersions {
  constructor(chat) {
    this.chat = chat;
    this.sessionId = null;
    this.byMessage = new Map(); // message id -> [version]
    this.asked = 0;
  }

  /** The chat shown changed (or null: none): load what its messages made. */
  async load(sessionId) {
    this.sessionId = sessionId;
    this.byMessage = new Map();
    this.fillAll();
    if (!sessionId) return;
    const asked = ++this.asked;
    let data;
    try {
      data = await get(`/api/sessions/${sessionId}/versions`);
    } catch (err) {
      return; // provenance is a detail: the chat works without it
    }
    if (asked !== this.asked || sessionId !== this.sessionId) return;
    for (const v of data.versions) {
      if (!this.byMessage.has(v.message_id)) this.byMessage.set(v.message_id, []);
      this.byMessage.get(v.message_id).push(v);
    }
    this.fillAll();
  }

  /** The section changed from this page (apply, accept, undo): the chat may have made a version. */
  sectionChanged() {
    if (this.sessionId) this.load(this.sessionId);
  }

  /** Called by a message view after each render: give it its "Made v…" line (empty when it made none). */
  attach(view) {
    view.madeBox = el("div", { class: "made-versions small", hidden: true });
    view.node.append(view.madeBox);
    this.fill(view);
  }

  fillAll() {
    for (const view of this.chat.views.values()) if (view.madeBox) this.fill(view);
  }

  fill(view) {
    const made = this.byMessage.get(view.id) || [];
    const section = this.chat.section;
    view.madeBox.hidden = !made.length || !section;
    if (view.madeBox.hidden) { view.madeBox.replaceChildren(); return; }
    const links = made.map((v) => el("button", {
      class: "btn btn-small btn-link made-link", type: "button", text: `v${v.version}`,
      title: `${sourceLabel(v.source)} · ${relativeTime(v.created_at)} · `
        + (v.paragraphs_now ? `${v.paragraphs_now} paragraph${v.paragraphs_now === 1 ? "" : "s"} still in the text`
          : "none of it is in the current text"),
      onclick: () => openBlame(section.id, v.version) }));
    const parts = ["Made "];
    links.forEach((link, i) => { if (i) parts.push(", "); parts.push(link); });
    parts.push(" of the section");
    view.madeBox.replaceChildren(...parts);
  }
}
