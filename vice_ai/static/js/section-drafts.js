// Never lose a section's typing (a SectionCard's helper, sections.js): its unsaved title and text are a
// draft in this browser, with the version they were based on. After a reload or a crash the draft comes
// back: saved as usual when the section has not changed since, shown as a conflict when it has. A save
// the server did not answer (down, 5xx) is tried again, and at once when the server is back.
import { draftKey, readDraft, writeDraft, removeDraft, warnBeforeLeaving } from "./drafts.js";
import { Retry } from "./recovery.js";
import { toast, debounce } from "./ui.js";

const keepers = new Set();
let restored = 0;

warnBeforeLeaving(() => [...keepers].some((keeper) => keeper.unsaved()));

const tellRestored = debounce(() => {
  toast(restored === 1 ? "Restored your unsaved text of one section from this browser."
    : `Restored your unsaved text of ${restored} sections from this browser.`);
  restored = 0;
}, 300);

/** Typed here and changed elsewhere, in the same field (title or text) and differently: only the user can settle it. */
export function clashes(card, theirs) {
  const mine = card.section;
  return [["title", card.titleInput], ["content", card.content]].some(([name, field]) =>
    theirs[name] !== mine[name] && field.value !== mine[name] && field.value !== theirs[name]);
}

/** Worth another try later: no answer, the server failing or busy. Refusals (400, 404, 409, 413) are not. */
function retryable(err) {
  return err.status === 0 || err.status === 408 || err.status === 429 || err.status >= 500;
}

export class SectionKeeper {
  constructor(card) {
    this.card = card;
    this.key = draftKey(card.pane.documentId, "section", card.id);
    this.retry = new Retry(() => card.save());
    this.told = false;
    this.inflight = null; // the text of the save on its way, if any
    keepers.add(this);
    this.restore();
  }

  /** Text typed here that the server does not have yet. */
  unsaved() {
    const card = this.card;
    if (card.pane.cards.get(card.id) !== card) { // the section is gone from the page
      keepers.delete(this);
      this.retry.clear();
      return false;
    }
    return card.pane.editable && (card.isDirty() || card.saving);
  }

  /** After typing, a save or the server's copy: keep the fields as a draft while they differ from it. */
  sync() {
    const card = this.card;
    if (!card.pane.editable) return; // a reader types nothing; a draft from when they could edit stays
    if (!card.isDirty()) {
      removeDraft(this.key);
      this.retry.reset();
      return;
    }
    const draft = { title: card.titleInput.value, content: card.content.value, version: card.section.version };
    if (this.inflight) draft.sending = this.inflight;
    writeDraft(this.key, draft);
  }

  /** A save starts: if the page goes before the answer, the next one knows that version may be ours. */
  sending(body) {
    this.inflight = { version: body.version, title: this.card.titleInput.value, content: this.card.content.value };
    this.sync();
  }

  saved() {
    this.inflight = null;
    this.told = false;
    this.retry.reset();
    this.sync();
  }

  /** A save failed: a conflict to settle, a refusal to tell, or no answer to try again. */
  failed(err) {
    this.inflight = null;
    const card = this.card;
    const name = card.titleInput.value || "Section";
    if (err.status === 409 && err.details.section) {
      const theirs = err.details.section;
      if (theirs.title === card.titleInput.value && theirs.content === card.content.value) {
        // Our own save, whose answer was lost: nothing to settle.
        card.update(theirs, { force: true });
        card.showMeta("Saved");
        card.pane.changed(theirs);
      } else if (!clashes(card, theirs)) {
        // Changed elsewhere in the field not typed here (a rename): take theirs and save ours on top of it.
        card.update(theirs);
        card.pane.changed(theirs);
        card.save(); // after this save's end (sections.js: `again`)
      } else card.showConflict(theirs);
      return;
    }
    if (!retryable(err)) {
      card.showMeta("Not saved");
      toast(`“${name}” was not saved: ${err.message}`, { kind: "error" });
      return;
    }
    card.showMeta("Not saved — will retry");
    if (!this.told) {
      this.told = true;
      toast(`“${name}” is not saved yet (${err.message}). Your text is kept in this browser and saved when the server answers.`,
        { kind: "error" });
    }
    this.retry.schedule();
  }

  /** A draft left by an earlier page (reload, crash, outage) comes back into the fields. */
  restore() {
    const card = this.card;
    const server = card.section;
    const draft = readDraft(this.key);
    if (!draft || !card.pane.editable) return;
    const valid = typeof draft.title === "string" && typeof draft.content === "string" && Number.isInteger(draft.version);
    if (!valid || (draft.title === server.title && draft.content === server.content)) {
      removeDraft(this.key);
      return;
    }
    let base = draft.version;
    const sent = draft.sending;
    if (sent && server.version === sent.version + 1 && server.title === sent.title && server.content === sent.content) {
      base = server.version; // the version after the draft's is the save that was on its way: ours
    }
    card.titleInput.value = draft.title;
    card.content.value = draft.content;
    card.fit();
    restored += 1;
    tellRestored();
    if (base === server.version) {
      card.showMeta("Draft restored");
      card.saveSoon();
    } else {
      // Changed elsewhere since: the user chooses, with the page's conflict choices.
      card.section = { ...server, version: base };
      card.showConflict(server);
    }
    this.sync();
  }
}
