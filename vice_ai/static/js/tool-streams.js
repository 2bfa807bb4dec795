// The chat's background checks (notification streams): the collapsible list with Stop.
import { get, del } from "./api.js";
import { el, toast, relativeTime, fullTime } from "./ui.js";
import { short, count } from "./tool-format.js";

const STOPPED_SHOWN = 5;

function every(seconds) {
  const s = Number(seconds);
  if (!Number.isFinite(s)) return "";
  if (s >= 3600 && s % 3600 === 0) return `every ${count(s / 3600, "hour", "hours")}`;
  if (s >= 60 && s % 60 === 0) return `every ${s / 60} min`;
  return `every ${s} s`;
}

/** The chat's background checks (notification streams), with Stop. */
export class StreamsPanel {
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
