// A tool call of the model as one compact, expandable step (label, mark, arguments, result); text only, no innerHTML.
import { el } from "./ui.js";
import { parseJson, short, quote, count, showText } from "./tool-format.js";

// One line per call, in the words a user would use; `result` is the parsed result when there is one.
const LABELS = {
  read_section: (a, r) => (r && r.title != null ? `Read section ${quote(r.title || "Untitled")}`
    : a.section_id ? "Read another section" : "Read the section"),
  list_sections: (a, r) => (Array.isArray(r) ? `Listed the sections (${r.length})` : "Listed the sections"),
  search_document: (a, r) => `Searched the document for ${quote(a.query)}`
    + (Array.isArray(r) ? ` — ${count(r.length, "match", "matches")}` : ""),
  propose_section_edit: (a) => (a.summary ? `Proposed an edit: ${short(a.summary)}` : "Proposed an edit"),
  set_session_variable: (a) => `Remembered ${quote(a.name, 40)}`,
  start_notification_stream: (a) => `Started a background check: ${short(a.goal)}`,
  stop_notification_stream: () => "Stopped a background check",
  send_notification: () => "Sent a notification",
};

const MARKS = {
  pending: ["…", "Running"],
  ok: ["✓", "Done"],
  error: ["✕", "Failed"],
  missing: ["–", "Not run"],
};

/** One tool call of an assistant message, with its result once it arrives. */
export class ToolStep {
  constructor(call) {
    this.call = call;
    this.name = (call.function && call.function.name) || "tool";
    this.rawArgs = (call.function && call.function.arguments) || "";
    const args = parseJson(this.rawArgs);
    this.args = args && typeof args === "object" && !Array.isArray(args) ? args : {};
    this.mark = el("span", { class: "tool-mark" });
    this.label = el("span", { class: "tool-label" });
    this.note = el("span", { class: "tool-note small", hidden: true });
    this.resultPre = el("pre", { class: "tool-result" });
    this.node = el("details", { class: "tool-step", dataset: { tool: this.name, callId: call.id || "" } },
      el("summary", {}, this.mark, this.label, this.note),
      el("div", { class: "tool-detail" },
        el("div", { class: "tool-detail-head small muted", text: "Arguments" }),
        el("pre", { class: "tool-args", text: this.rawArgs.trim() ? showText(this.rawArgs) : "(none)" }),
        el("div", { class: "tool-detail-head small muted", text: "Result" }),
        this.resultPre));
    this.setStatus("pending", null);
  }

  setStatus(status, result) {
    this.node.dataset.status = status;
    const [mark, title] = MARKS[status];
    this.mark.textContent = mark;
    this.mark.title = title;
    this.mark.setAttribute("aria-label", title);
    const describe = LABELS[this.name] || (() => `Used the tool ${quote(this.name, 40)}`);
    this.label.textContent = describe(this.args, status === "ok" ? result : undefined);
    if (status === "pending") this.resultPre.textContent = "(waiting for the result)";
    if (status === "missing") this.resultPre.textContent = "(no result: the reply ended before this call ran)";
  }

  /** The tool message that answers this call. */
  setResult(content, ok) {
    const parsed = parseJson(content);
    this.setStatus(ok ? "ok" : "error", parsed);
    this.resultPre.textContent = showText(content);
    const error = !ok && parsed && typeof parsed === "object" && parsed.error;
    this.note.textContent = error ? ` — ${short(error, 90)}` : "";
    this.note.hidden = !error;
  }
}
