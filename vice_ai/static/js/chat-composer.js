// ChatPane methods for what the user sends: a message from the composer, Stop, Retry, Continue and Ask again.
import { toast } from "./ui.js";
import { selectionOf } from "./selection.js";

export const composerMethods = {
  // -- commands ----------------------------------------------------------------------
  sendFromComposer() {
    const text = this.input.value;
    if (!text.trim() || !this.section || this.input.disabled) return;
    if (this.generating) {
      toast("A reply is still being written. Stop it or wait for it to finish.");
      return;
    }
    if (!this.mayStartChat()) return; // the section's chats are not known yet (chat-drafts.js)
    this.input.value = "";
    this.input.dispatchEvent(new Event("input"));
    if (!this.session) {
      this.newSession(text);
      return;
    }
    this.sendText(text);
  },

  /** Send a message; `references`: the passage it is about (default: the one quoted in the composer). */
  sendText(text, references = this.passageChip.references()) {
    this.lastSent = text;
    const command = { type: "send", content: text };
    if (references.length) command.references = references;
    const viewed = this.viewedLeaf(); // a branch viewed from a search: the question continues it (chat-found.js)
    if (viewed) command.parent_id = viewed;
    if (!this.socket || !this.socket.send(command)) {
      if (!this.input.value) { this.input.value = text; this.input.dispatchEvent(new Event("input")); }
      toast("Not connected to the server — reconnecting. Your message is still in the box.", { kind: "error" });
      return;
    }
    if (viewed) this.endView();
    if (references.length && references[0] === this.passageChip.ref) this.passageChip.clear();
  },

  stop() {
    if (this.socket && this.canWriteChat) this.socket.send({ type: "stop" });
  },

  retry() {
    if (this.generating || !this.canWriteChat) return;
    this.list.querySelectorAll(".orphan-error").forEach((n) => n.remove());
    if (!this.socket || !this.socket.send({ type: "retry" })) {
      toast("Not connected to the server — reconnecting.", { kind: "error" });
    }
  },

  /** Ask the model to go on from the interrupted last reply; the rest streams into that same reply. */
  continueReply() {
    if (this.generating || !this.canWriteChat) return;
    if (!this.socket || !this.socket.send({ type: "continue" })) {
      toast("Not connected to the server — reconnecting.", { kind: "error" });
    }
  },

  askAgain(view) {
    // After tool steps the reply's parent is a tool result: walk up to the user's message.
    let id = view.data.parent_id;
    for (let hops = 0; id && hops < 100 && !(this.views.get(id) && this.views.get(id).data.role === "user"); hops += 1) {
      id = this.parents.get(id);
    }
    const question = id ? this.views.get(id) : null;
    if (!question) { toast("The question of that reply is not in this chat."); return; }
    if (this.generating) { toast("A reply is still being written. Stop it or wait for it to finish."); return; }
    const ref = selectionOf(question.data);
    this.sendText(question.data.content, ref ? [ref] : []);
  },
};
