// The document's own websocket (/ws/documents/<id>): what other tabs and replies change in its
// sections, chats and shares, applied in place. The socket itself is live.js's (reconnect, resume
// in seq order, a reload after a restart); this module only says what each event does to the page.
import { get } from "./api.js";
import { toast } from "./ui.js";
import { SessionSocket } from "./live.js";
import { clashes } from "./section-drafts.js";

/** Says the document is gone for this user, once however many ways the page learns it (its socket, a reload). */
export function documentGone() {
  toast("This document was deleted, or you no longer have access to it.", { kind: "error", timeout: 0, key: "document-gone" });
}

// How long to wait for this tab's own save to answer before judging a change from elsewhere.
const SAVING_RECHECK_MS = 150;
// What a section card shows of a section.
const SHOWN = ["version", "title", "content", "type", "level", "status"];

export class LiveDocument {
  /**
   * sections: the SectionsPane; chat: the ChatPane;
   * reload() -> Promise: the document over HTTP (first open, a restarted server);
   * showDocument(doc): the document's title and the caller's access (sync, a share changed);
   * onNotification(event): a notice about one of the sections.
   */
  constructor({ documentId, sections, chat, reload, showDocument, onNotification }) {
    this.documentId = documentId;
    this.sections = sections;
    this.chat = chat;
    this.reload = reload;
    this.showDocument = showDocument;
    this.onNotification = onNotification;
    this.socket = null;
  }

  start() {
    const id = encodeURIComponent(this.documentId);
    this.socket = new SessionSocket(null, {
      onReload: () => this.reload(),
      onEvent: (event) => this.apply(event),
      onSync: (doc) => { this.showDocument(doc); this.sections.setSections(doc.sections); },
      onState: (state) => { this.sections.list.dataset.live = state; },
      onRetry: (attempt) => {
        // A refused handshake looks like a dropped line: HTTP says which it is (api.js handles a sign-out).
        if (attempt % 3 === 0) get(`/api/documents/${id}`).catch((err) => { if (err.status === 404) this.gone(); });
      },
      onGone: () => this.gone(),
    }, { path: `/ws/documents/${id}` }).start();
    return this;
  }

  close() {
    if (this.socket) this.socket.close();
  }

  gone() {
    documentGone();
  }

  apply(event) {
    switch (event.type) {
      case "section_updated": this.sectionChanged(event.section); break;
      case "section_created": this.reorder(event.order, event.section); break;
      case "section_deleted": this.reorder(event.order); break;
      case "sections_reordered": this.reorder(event.order); break;
      case "document_updated": this.showDocument({ title: event.title }); break;
      case "share_changed": get(`/api/documents/${encodeURIComponent(this.documentId)}`).then((doc) => this.showDocument(doc), () => {}); break;
      case "chat_created": case "chat_updated": case "chat_deleted": this.chat.chatListChanged(event); break;
      case "notification": this.notify(event); break;
      case "deleted": this.gone(); break;
      default: break;
    }
  }

  /** The outline in `order`: new sections get cards, deleted ones go, the others keep theirs (and any typing). */
  reorder(order, added = null) {
    const pane = this.sections;
    const selected = pane.selectedId;
    const index = pane.order.indexOf(selected);
    const gone = Boolean(selected) && !order.includes(selected); // here or elsewhere: sections.js tells its own
    if (added && !pane.cards.has(added.id)) {
      pane.setSections(order.map((id) => (id === added.id ? added : pane.get(id))).filter(Boolean));
    } else {
      for (const id of [...pane.cards.keys()]) if (!order.includes(id)) pane.cards.delete(id);
      pane.order = order.filter((id) => pane.cards.has(id));
      pane.render();
    }
    if (!gone) return;
    pane.selectedId = null;
    const next = pane.order[Math.min(index, pane.order.length - 1)];
    if (next) pane.select(next);
    else pane.onSelect(null);
  }

  /** A section saved elsewhere: in place, unless this tab is editing it; then "changed elsewhere". */
  sectionChanged(theirs) {
    const card = this.sections.cards.get(theirs.id);
    if (!card) return; // a created section comes with its order
    const mine = card.section;
    if (theirs.version < mine.version) return; // this tab already has something newer
    if (SHOWN.every((name) => theirs[name] === mine[name])) return; // this tab's own save, or nothing it shows
    if (card.saving) { // this tab's own save may be what came back: judge once it answers
      setTimeout(() => this.sectionChanged(theirs), SAVING_RECHECK_MS);
      return;
    }
    const textMoved = theirs.content !== mine.content || theirs.title !== mine.title;
    const typed = card.titleInput.value === theirs.title && card.content.value === theirs.content;
    // Only a field typed here that changed there too is the user's choice; different fields each keep their change.
    if (textMoved && !typed && (card.conflict || (card.isDirty() && clashes(card, theirs)))) {
      card.showConflict(theirs);
    } else {
      card.update(theirs, { force: typed });
      this.sections.changed(theirs);
    }
  }

  /** Notices about sections whose chat is not open here (the open chat's socket tells about its own). */
  notify(event) {
    const open = this.chat.session && this.chat.section && this.chat.section.id === event.section_id;
    if (!open) this.onNotification(event);
  }
}
