// The chat pane never loses typing and comes back by itself: the composer's unsent text is a draft in
// this browser per chat (per section before its first chat), and a chat list that did not load (the
// server away) loads again later, so a message is never sent to a new chat beside an existing one.
import { draftKey, readDraft, writeDraft, removeDraft } from "./drafts.js";
import { Retry } from "./recovery.js";
import { toast } from "./ui.js";

export class ComposerDrafts {
  constructor(pane) {
    this.pane = pane;
    this.key = null;
    pane.input.addEventListener("input", () => this.keep());
  }

  /** Where the composer's text belongs now: the open chat, else the selected section's first chat to be. */
  keyNow() {
    const { documentId, section, session } = this.pane;
    if (!section) return null;
    return session ? draftKey(documentId, "chat", session.id) : draftKey(documentId, "new-chat", section.id);
  }

  keep() {
    if (!this.key) return;
    const text = this.pane.input.value;
    if (text.trim()) writeDraft(this.key, { text });
    else removeDraft(this.key); // sent, or emptied by the user
  }

  /** The section or chat changed: show its draft. Text typed before a section's chats were known goes with its chat. */
  switched() {
    const pane = this.pane;
    const key = this.keyNow();
    if (key === this.key) return;
    const before = this.key;
    const typed = pane.input.value;
    this.key = key;
    const draft = key ? readDraft(key) : null;
    let text = draft && typeof draft.text === "string" ? draft.text : "";
    const waiting = pane.section ? draftKey(pane.documentId, "new-chat", pane.section.id) : null;
    if (key && before === waiting && typed.trim()) {
      text = text && text !== typed ? `${text}\n\n${typed}` : typed;
      removeDraft(before);
    }
    if (pane.input.value !== text) {
      pane.input.value = text;
      pane.input.dispatchEvent(new Event("input")); // grows the box and keeps the draft
    } else this.keep();
  }
}

export const recoveryMethods = {
  /** The chat list of `section` did not load: load it again later, and at once when the server answers. */
  retryChats(section, preferredSessionId) {
    if (!this.chatsRetry) {
      this.chatsRetry = new Retry(() => {
        const wanted = this.chatsWanted;
        if (!wanted || !this.section || this.section.id !== wanted.section.id || this.chatsLoaded) return;
        this.section = null; // setSection loads a section's chats only when the section changes
        this.setSection(wanted.section, wanted.preferred);
      });
    }
    this.chatsWanted = { section, preferred: preferredSessionId };
    this.chatsRetry.schedule();
  },

  /** The chat list is here: a message may start a chat now. */
  chatsReady() {
    this.chatsLoaded = true;
    if (this.chatsRetry) this.chatsRetry.reset();
  },

  /** A message with no chat open would start one: not before the section's chats are known. */
  mayStartChat() {
    if (this.session || this.chatsLoaded) return true;
    toast("The chats of this section are not loaded yet (the server is not answering). Your message stays in the box.",
      { kind: "error" });
    return false;
  },
};
