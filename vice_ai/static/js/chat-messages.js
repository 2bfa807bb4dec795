// ChatPane methods for the message list of the open chat: adding and updating messages, live events, scrolling.
import { el, toast, dismissToast } from "./ui.js";
import { MessageView } from "./chat-message-view.js";

const NEAR_END_PX = 48; // closer to the list's end than this, it follows new words (`nearEnd`)

export const messageMethods = {
  // -- messages ----------------------------------------------------------------------
  clearMessages() {
    this.views.clear();
    this.order = [];
    this.parents.clear();
    this.resetTree();
    this.tools.clearSteps();
    this.list.replaceChildren();
    this.autoTop = 0;
    this.jump.hidden = true;
  },

  showEmpty(text) {
    if (this.order.length) return;
    this.list.replaceChildren(el("div", { class: "empty-state" }, el("p", { text })));
  },

  isLast(id) {
    return this.order.length > 0 && this.order[this.order.length - 1] === id;
  },

  upsert(message) {
    this.parents.set(message.id, message.parent_id);
    if (this.trackLive(message)) return this.views.get(message.id) || null; // another branch (chat-branches.js)
    if (message.role !== "user" && message.role !== "assistant") return null;
    let view = this.views.get(message.id);
    if (view) {
      view.update(message);
    } else {
      if (!this.order.length) this.list.replaceChildren();
      this.list.querySelectorAll(".orphan-error").forEach((n) => n.remove());
      view = new MessageView(this, message);
      this.views.set(message.id, view);
      this.order.push(message.id);
      this.list.append(view.node);
      this.refreshAll();
    }
    this.scrollDown();
    return view;
  },

  refreshAll() {
    for (const view of this.views.values()) view.refresh();
  },

  handle(event) {
    switch (event.type) {
      case "user_message": {
        this.titled(event.title);
        const shown = this.upsert(event.message); // null: a branch not shown (a reader's own, chat-branch-keep.js)
        this.setGenerating(true);
        if (shown) { this.stick = true; this.scrollDown(true); }
        break;
      }
      case "round_start":
        this.upsert(event.message);
        this.setGenerating(true);
        break;
      case "tool_call":
        this.upsert(event.message);
        break;
      case "tool_result":
        if (event.message) this.upsert(event.message);
        this.tools.handle(event);
        break;
      case "delta": {
        const view = this.views.get(event.message_id);
        if (view) { view.delta(event.text || "", event.html); this.scrollDown(); }
        break;
      }
      case "done":
      case "stopped":
        if (event.message) this.upsert(event.message);
        dismissToast("retrying"); // the reply ended: no more waiting to tell
        this.setGenerating(false);
        this.tools.handle(event);
        break;
      case "error":
        if (event.message) this.upsert(event.message);
        else this.orphanError(event.error || {});
        dismissToast("retrying");
        this.setGenerating(false);
        this.tools.handle(event);
        break;
      case "notification":
        this.tools.handle(event);
        this.onNotification(event);
        break;
      case "branch_changed": // a writer switched branches elsewhere (chat-branch-keep.js)
        this.branchChanged(event);
        break;
      case "deleted":
        this.sessionGone();
        break;
      default:
        break;
    }
  },

  handleLocal(event) {
    if (event.type !== "error") return;
    const err = event.error || {};
    if (this.lastSent && !this.input.value) { this.input.value = this.lastSent; this.input.dispatchEvent(new Event("input")); }
    this.lastSent = null;
    toast(err.message || "The server refused that.", { kind: "error" });
  },

  orphanError(err) {
    this.list.querySelectorAll(".orphan-error").forEach((n) => n.remove());
    const retry = el("button", { class: "btn btn-small", type: "button", text: "Retry", onclick: () => this.retry() });
    this.list.append(el("div", { class: "msg msg-assistant orphan-error" },
      el("div", { class: "msg-error", role: "alert" }, el("span", { text: `The reply failed: ${err.message || "unknown error"}` }), retry)));
    this.scrollDown();
  },

  setGenerating(on) {
    this.generating = on;
    this.genState.hidden = !on;
    this.stopBtn.hidden = !on || !this.canWriteChat;
    this.sendBtn.hidden = on;
    this.list.setAttribute("aria-busy", String(on));
    if (!on && this.stopBtn.contains(document.activeElement)) this.input.focus();
    this.refreshAll();
  },

  /** Whether the list is at (or within NEAR_END_PX of) its end: where it follows new words. */
  nearEnd() {
    const list = this.list;
    return list.scrollHeight - list.scrollTop - list.clientHeight < NEAR_END_PX;
  },

  scrollDown(force = false) {
    // The user scrolled up since the list was last put at its end, and its scroll event (sent with the next
    // frame) has not said so yet: a reply's next words must not pull the list back down.
    if (!force && this.stick && this.list.scrollTop < (this.autoTop || 0) - 1 && !this.nearEnd()) this.stick = false;
    if (this.stick || force) {
      this.list.scrollTop = this.list.scrollHeight;
      this.autoTop = this.list.scrollTop;
      this.jump.hidden = true;
    } else {
      this.jump.hidden = false;
    }
  },
};
