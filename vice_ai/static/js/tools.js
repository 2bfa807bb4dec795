// Function calling in the chat: the model's tool calls as compact steps, its proposed
// section edits as cards to accept or reject, and the chat's background checks
// (notification streams). Everything here is text: nothing goes through innerHTML.
import { get, post, del } from "./api.js";
import { el, toast, relativeTime, fullTime } from "./ui.js";

const SHORT = 60;
const STOPPED_SHOWN = 5;

function parseJson(text) {
  if (typeof text !== "string") return text;
  try { return JSON.parse(text); } catch (exc) { return undefined; }
}

function short(text, max = SHORT) {
  const flat = String(text ?? "").replace(/\s+/g, " ").trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

function quote(text, max = SHORT) {
  return `“${short(text, max)}”`;
}

function count(n, one, many) {
  return `${n} ${n === 1 ? one : many}`;
}

/** A JSON value as readable lines: keys and values, multi-line strings kept as they are. */
export function readable(value, indent = "") {
  if (value === null || value === undefined) return `${indent}(none)`;
  if (typeof value !== "object") {
    const text = String(value);
    return text.includes("\n") ? text.split("\n").map((line) => indent + line).join("\n") : indent + text;
  }
  const entries = Array.isArray(value) ? value.map((v, i) => [`${i + 1}.`, v]) : Object.entries(value);
  if (!entries.length) return `${indent}(none)`;
  return entries.map(([key, v]) => {
    const label = Array.isArray(value) ? key : `${key}:`;
    const simple = v === null || typeof v !== "object";
    if (simple && !String(v ?? "").includes("\n")) return `${indent}${label} ${v === null ? "(none)" : v}`;
    return `${indent}${label}\n${readable(v, `${indent}  `)}`;
  }).join("\n");
}

function showText(raw) {
  const parsed = parseJson(raw);
  if (parsed === undefined) return raw || "(empty)";
  return readable(parsed);
}

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
class ToolStep {
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

/** A pending proposed edit of the section, with Accept / Reject and, once accepted, Undo. */
class ProposalCard {
  constructor(proposals, suggestion) {
    this.proposals = proposals;
    this.s = suggestion;
    this.accepted = null; // {version, previousVersion, undone, undoneVersion}
    this.busy = false;
    this.baseNote = el("p", { class: "proposal-base small", hidden: true });
    this.status = el("div", { class: "proposal-status small", role: "status", hidden: true });
    this.acceptBtn = el("button", { class: "btn btn-small btn-primary", type: "button", text: "Accept", onclick: () => this.accept(false) });
    this.rejectBtn = el("button", { class: "btn btn-small", type: "button", text: "Reject", onclick: () => this.reject() });
    this.readOnly = el("span", { class: "muted small", text: "Only the chat's owner or the document's owner can decide on this." });
    this.actions = el("div", { class: "row-buttons proposal-actions" }, this.acceptBtn, this.rejectBtn, this.readOnly);
    this.before = el("pre", { class: "proposal-text proposal-before" });
    this.beforeHead = el("div", { class: "proposal-col-head small muted" });
    this.compare = el("details", { class: "proposal-compare" },
      el("summary", { class: "small", text: "Compare with the current text" }),
      el("div", { class: "proposal-cols" },
        el("div", {}, this.beforeHead, this.before),
        el("div", {}, el("div", { class: "proposal-col-head small muted", text: "Proposed" }),
          el("pre", { class: "proposal-text", text: suggestion.new_content || "(empty)" }))));
    this.compare.addEventListener("toggle", () => this.fillBefore());
    this.node = el("article", { class: "proposal-card", dataset: { id: suggestion.id }, "aria-label": "Proposed edit" },
      el("div", { class: "proposal-head" },
        el("span", { class: "pill", text: "Proposed edit" }),
        el("strong", { class: "proposal-summary", text: suggestion.summary || "A new text for this section" })),
      this.baseNote,
      el("pre", { class: "proposal-text proposal-new", text: suggestion.new_content || "(empty)" }),
      this.compare, this.status, this.actions);
    this.refresh();
  }

  get id() { return this.s.id; }

  get chat() { return this.proposals.tools.chat; }

  url(action) {
    return `/api/sessions/${this.proposals.tools.sessionId}/suggestions/${this.id}/${action}`;
  }

  /** The section moved on since the proposal: say so (accepting then needs a confirmation). */
  refresh() {
    const section = this.chat.section;
    const current = section && section.id === this.s.section_id ? section.version : null;
    const moved = !this.accepted && current !== null && current !== this.s.base_version;
    this.baseNote.hidden = !moved;
    if (moved) this.baseNote.textContent = `Written for version ${this.s.base_version}; the section is now at version ${current}.`;
    // Accepting writes the section too (edit access); rejecting only writes the chat (access.py).
    this.acceptBtn.hidden = !this.chat.canApply;
    this.rejectBtn.hidden = !this.chat.canWriteChat;
    this.readOnly.hidden = this.chat.canWriteChat;
    if (this.compare.open) this.fillBefore();
  }

  fillBefore() {
    if (this.accepted) {
      // Once accepted, "now" is the proposal itself: compare with what it replaced.
      this.beforeHead.textContent = `Before (version ${this.accepted.previousVersion})`;
      this.before.textContent = this.accepted.previousContent || "(empty)";
      return;
    }
    const section = this.chat.section;
    const mine = section && section.id === this.s.section_id;
    this.beforeHead.textContent = mine ? `Now (version ${section.version})` : "Now";
    this.before.textContent = mine ? (section.content || "(empty)") : "(the section is not loaded)";
  }

  setBusy(on) {
    this.busy = on;
    for (const button of this.node.querySelectorAll("button")) button.disabled = on;
  }

  say(parts, kind = "info") {
    this.status.replaceChildren(...parts);
    this.status.dataset.kind = kind;
    this.status.hidden = !parts.length;
  }

  async accept(force) {
    if (this.busy) return;
    this.setBusy(true);
    try {
      const data = await post(this.url("accept"), force ? { force: true } : {});
      this.accepted = {
        version: data.section.version, previousVersion: data.previous_version,
        previousContent: data.previous_content, undone: false,
      };
      this.fillBefore();
      this.actions.hidden = true;
      this.baseNote.hidden = true;
      this.chat.sectionUpdated(data.section);
      this.renderAccepted();
    } catch (err) {
      if (err.status === 409 && err.details.current_version != null) {
        // The section was edited after the proposal: the user decides whether to overwrite.
        this.say([el("span", { text: `${err.message} ` }),
          el("button", { class: "btn btn-small btn-danger", type: "button", text: "Replace anyway", onclick: () => this.accept(true) })], "conflict");
      } else if (err.status === 409 || err.status === 404) {
        toast(err.message, { kind: "error" });
        this.proposals.refresh(); // decided in another tab, or gone
      } else {
        toast(`Could not accept the edit: ${err.message}`, { kind: "error" });
      }
    } finally {
      this.setBusy(false);
    }
  }

  async reject() {
    if (this.busy) return;
    this.setBusy(true);
    try {
      await post(this.url("reject"));
      this.proposals.drop(this.id);
      toast("Proposed edit rejected; the section is unchanged.");
    } catch (err) {
      this.setBusy(false);
      if (err.status === 409 || err.status === 404) { toast(err.message, { kind: "error" }); this.proposals.refresh(); return; }
      toast(`Could not reject the edit: ${err.message}`, { kind: "error" });
    }
  }

  async undo() {
    const a = this.accepted;
    this.setBusy(true);
    try {
      const data = await post(
        `/api/documents/${this.chat.documentId}/sections/${this.s.section_id}/versions/${a.previousVersion}/revert`);
      a.undone = true;
      a.undoneVersion = data.section.version;
      this.chat.sectionUpdated(data.section);
      this.renderAccepted();
    } catch (err) {
      toast(`Could not undo: ${err.message}`, { kind: "error" });
    } finally {
      this.setBusy(false);
    }
  }

  renderAccepted() {
    const a = this.accepted;
    this.node.dataset.state = a.undone ? "undone" : "accepted";
    const close = el("button", { class: "btn btn-small btn-link", type: "button", text: "Dismiss", onclick: () => this.proposals.drop(this.id) });
    if (a.undone) {
      this.say([el("span", { text: `Undone — the section text is back as it was (version ${a.undoneVersion}). ` }), close], "ok");
    } else {
      this.say([el("span", { text: `Accepted: the section now has this text (version ${a.version}). ` }),
        el("button", { class: "btn btn-small btn-link undo-btn", type: "button", text: "Undo", onclick: () => this.undo() }), close], "ok");
    }
  }
}

/** The chat's pending proposals, docked above the composer. */
class Proposals {
  constructor(tools, box) {
    this.tools = tools;
    this.box = box;
    this.cards = new Map();
    this.token = 0;
  }

  clear() {
    this.token += 1;
    this.cards.clear();
    this.render();
  }

  async refresh() {
    const id = this.tools.sessionId;
    if (!id) return;
    const token = ++this.token;
    let data;
    try {
      data = await get(`/api/sessions/${id}/suggestions`);
    } catch (err) {
      if (err.status !== 404 && token === this.token) toast(`Could not load the proposed edits: ${err.message}`, { kind: "error" });
      return;
    }
    if (token !== this.token || id !== this.tools.sessionId) return; // a newer refresh, or another chat
    const pending = data.suggestions.filter((s) => s.status === "pending");
    const keep = new Set(pending.map((s) => s.id));
    // Cards decided here stay (with Undo); pending ones decided elsewhere go.
    for (const [sid, card] of [...this.cards]) if (!keep.has(sid) && !card.accepted) this.cards.delete(sid);
    for (const s of pending) if (!this.cards.has(s.id)) this.cards.set(s.id, new ProposalCard(this, s));
    this.render();
  }

  drop(id) {
    this.cards.delete(id);
    this.render();
  }

  sectionChanged() {
    for (const card of this.cards.values()) card.refresh();
  }

  accessChanged() {
    for (const card of this.cards.values()) card.refresh();
  }

  render() {
    this.box.replaceChildren(...[...this.cards.values()].map((c) => c.node));
    this.box.hidden = this.cards.size === 0;
  }
}

function every(seconds) {
  const s = Number(seconds);
  if (!Number.isFinite(s)) return "";
  if (s >= 3600 && s % 3600 === 0) return `every ${count(s / 3600, "hour", "hours")}`;
  if (s >= 60 && s % 60 === 0) return `every ${s / 60} min`;
  return `every ${s} s`;
}

/** The chat's background checks (notification streams), with Stop. */
class StreamsPanel {
  constructor(tools, box) {
    this.tools = tools;
    this.box = box;
    this.streams = [];
    this.token = 0;
    this.inflight = null;
    this.again = false;
    this.userToggled = false;
    this.count = el("span", { class: "streams-count" });
    this.list = el("ul", { class: "stream-list" });
    this.details = el("details", { class: "streams" },
      el("summary", {}, el("span", { class: "streams-title", text: "Background checks" }), this.count),
      this.list);
    this.autoOpen = false;
    // Opened or closed by the user (not by render): keep it that way.
    this.details.addEventListener("toggle", () => { if (this.details.open !== this.autoOpen) this.userToggled = true; });
    this.box.replaceChildren(this.details);
  }

  clear() {
    this.token += 1;
    this.streams = [];
    this.userToggled = false;
    this.autoOpen = false;
    this.details.open = false;
    this.render();
  }

  /** Fetch the list; refreshes asked for while one is running are folded into one more. */
  refresh() {
    if (this.inflight) { this.again = true; return this.inflight; }
    this.inflight = this.load().finally(() => {
      this.inflight = null;
      if (this.again) { this.again = false; this.refresh(); }
    });
    return this.inflight;
  }

  async load() {
    const id = this.tools.sessionId;
    if (!id) return;
    const token = ++this.token;
    let data;
    try {
      data = await get(`/api/sessions/${id}/streams`);
    } catch (err) {
      if (err.status !== 404 && token === this.token) toast(`Could not load the background checks: ${err.message}`, { kind: "error" });
      return;
    }
    if (token !== this.token || id !== this.tools.sessionId) return;
    this.streams = data.streams;
    this.render();
  }

  render() {
    const running = this.streams.filter((s) => s.running);
    const stopped = this.streams.filter((s) => !s.running)
      .sort((a, b) => String(b.created_at).localeCompare(String(a.created_at))).slice(0, STOPPED_SHOWN);
    this.box.hidden = this.streams.length === 0;
    this.count.textContent = running.length ? ` · ${running.length} running` : " · none running";
    this.list.replaceChildren(...[...running, ...stopped].map((s) => this.item(s)));
    // Opens by itself when a check is running; closes only when the user closes it.
    if (!this.userToggled && running.length) {
      this.autoOpen = true;
      this.details.open = true;
    }
  }

  item(s) {
    const meta = [every(s.interval_seconds), count(s.notifications || 0, "notification", "notifications")];
    const last = s.last_notification;
    const state = s.running
      ? el("span", { class: "stream-state pill", text: "Running" })
      : el("span", { class: "stream-state small", text: `Stopped${s.stopped_reason ? ` — ${s.stopped_reason}` : ""}` });
    const stop = s.running && this.tools.chat.canWriteChat
      ? el("button", { class: "btn btn-small", type: "button", text: "Stop", "aria-label": `Stop the background check “${short(s.goal, 40)}”` })
      : null;
    if (stop) stop.addEventListener("click", () => this.stop(s, stop));
    return el("li", { class: "stream-item", dataset: { id: s.id, status: s.running ? "running" : "stopped" } },
      el("div", { class: "stream-main" },
        el("div", { class: "stream-goal", text: s.goal }),
        el("div", { class: "stream-meta small muted", text: meta.join(" · ") }),
        last ? el("div", { class: "stream-last small" },
          el("time", { class: "muted", datetime: last.at, title: fullTime(last.at), text: `Last, ${relativeTime(last.at)}: ` }),
          el("span", { text: last.text })) : null),
      el("div", { class: "stream-side" }, state, stop));
  }

  async stop(s, button) {
    button.disabled = true;
    try {
      await del(`/api/sessions/${this.tools.sessionId}/streams/${s.id}`);
    } catch (err) {
      // 404: it had stopped already (by itself, or in another tab); the list says why.
      if (err.status !== 404) { button.disabled = false; toast(`Could not stop the check: ${err.message}`, { kind: "error" }); return; }
    }
    this.refresh();
  }
}

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
