// Function calling in the chat: ChatTools ties the session's tool steps, proposed edits and background checks to the chat pane (all text, never innerHTML).
import { el } from "./ui.js";
import { ToolStep } from "./tool-steps.js";
import { Proposals } from "./tool-proposals.js";
import { StreamsPanel } from "./tool-streams.js";

export { readable } from "./tool-format.js"; // tools.js has always exported it

/** Tool steps, proposals and background checks of the chat pane's current session. */
export class ChatTools {
  constructor(chat, { streamsBox, proposalsBox }) {
    this.chat = chat;
    this.sessionId = null;
    this.steps = new Map(); // tool_call_id -> ToolStep
    this.results = new Map(); // tool_call_id -> {content, ok}
    this.proposals = new Proposals(this, proposalsBox);
    this.streams = new StreamsPanel(this, streamsBox);
  }

  /** Another chat (or none) is shown: forget the last one's panels. */
  setSession(id) {
    if (id === this.sessionId) return;
    this.sessionId = id;
    this.clearSteps();
    this.proposals.clear();
    this.streams.clear();
  }

  clearSteps() {
    this.steps.clear();
    this.results.clear();
  }

  /** The session as loaded over HTTP: results of its tool calls, then its proposals and checks. */
  loaded(session) {
    for (const m of session.messages) if (m.role === "tool") this.result(m);
    this.proposals.refresh();
    this.streams.refresh();
  }

  /** The steps block of an assistant message that calls tools (null when it calls none). */
  stepsFor(message) {
    const calls = message.tool_calls || [];
    if (!calls.length) return null;
    const rows = calls.map((call) => {
      const step = new ToolStep(call);
      if (call.id) {
        this.steps.set(call.id, step);
        const known = this.results.get(call.id);
        if (known) step.setResult(known.content, known.ok);
      }
      return step.node;
    });
    return el("div", { class: "tool-steps", "aria-label": "Tool steps" }, rows);
  }

  /** A tool message (from the history or a `tool_result` event). */
  result(message, ok = message.status !== "error") {
    if (!message.tool_call_id) return;
    this.results.set(message.tool_call_id, { content: message.content, ok });
    const step = this.steps.get(message.tool_call_id);
    if (step) step.setResult(message.content, ok);
  }

  /** The reply is over: calls that never got a result will not get one. */
  settle() {
    for (const [id, step] of this.steps) {
      if (!this.results.has(id) && step.node.dataset.status === "pending") step.setStatus("missing");
    }
  }

  /** Session events that concern tools. */
  handle(event) {
    if (event.type === "tool_result" && event.message) {
      this.result(event.message, event.ok !== false);
      if (event.name === "propose_section_edit") this.proposals.refresh();
      if (event.name === "start_notification_stream" || event.name === "stop_notification_stream") this.streams.refresh();
    } else if (event.type === "notification" && (event.kind === "stream" || event.kind === "stream_stopped")) {
      this.streams.refresh();
    } else if (event.type === "done" || event.type === "stopped" || event.type === "error") {
      this.settle();
    }
  }

  sectionChanged() {
    this.proposals.sectionChanged();
  }

  /** What the user may do in this chat changed (it loaded, or the document's access is known). */
  accessChanged() {
    this.proposals.accessChanged();
    this.streams.render();
  }

  /** True when the section's `version` is a proposal of this reply's own turn, accepted here (so not stale). */
  explains(message, version) {
    const accepted = [...this.proposals.cards.values()]
      .filter((c) => c.accepted && !c.accepted.undone && c.accepted.version === version);
    if (!accepted.length) return false;
    const ids = new Set(accepted.map((c) => c.s.message_id));
    let id = message.id;
    for (let hops = 0; id && hops < 100; hops += 1) {
      if (ids.has(id)) return true;
      id = this.chat.parents.get(id);
    }
    return false;
  }
}
