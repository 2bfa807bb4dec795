// ChatPane methods for what the user sends: a message from the composer, Stop, Retry, Continue and Ask again.
import { toast } from "./ui.js";

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

  sendText(text) {
    this.lastSent = text;
    if (!this.socket || !this.socket.send({ type: "send", content: text })) {
      if (!this.input.value) { this.input.value = text; this.input.dispatchEvent(new Event("input")); }
      toast("Not connected to the server — reconnecting. Your message is still in the box.", { kind: "error" });
    }
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
    this.sendText(question.data.content);
  },
};
