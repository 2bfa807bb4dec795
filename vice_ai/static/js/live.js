// One websocket on one chat session, kept open: reconnects by itself, resumes
// from the last event it applied, and hands events to the page strictly in
// `seq` order (replays may repeat events or deliver them out of order).
// A seq counts events of one run of the server (its `epoch`): after a restart
// the counter begins again, so a hello or sync from another epoch means the
// persisted session is the truth, never a replay of the new run's events.

import { reached } from "./api.js";

const RECONNECT_DELAYS = [250, 500, 1000, 2000, 3000, 5000];
const GAP_WAIT_MS = 2000;

/** Close a websocket without a console error: one still connecting is closed once it opens. */
export function closeQuietly(ws) {
  if (ws.readyState === WebSocket.CONNECTING) ws.addEventListener("open", () => ws.close(1000));
  else if (ws.readyState === WebSocket.OPEN) ws.close(1000);
}

export class SessionSocket {
  /**
   * handlers: onEvent(event) for session events in seq order;
   * onReload() -> Promise, to fetch the session over HTTP (first open, or the server restarted);
   * onSync(session) when the server cannot replay what was missed;
   * onLocal(event) for replies to this connection (errors such as "busy");
   * onState(state) with "connecting" | "live" | "reconnecting" | "closed";
   * onRetry(attempt) before each reconnection attempt.
   * options.path: another socket with the same rules (the document's: live-document.js).
   */
  constructor(sessionId, handlers, { path = null } = {}) {
    this.sessionId = sessionId;
    this.path = path || `/ws/sessions/${encodeURIComponent(sessionId)}`;
    this.h = handlers;
    this.ws = null;
    this.lastSeq = null;
    this.epoch = null;
    this.held = new Map();
    this.loading = false;
    this.closed = false;
    this.attempt = 0;
    this.gapTimer = null;
    this.state = "connecting";
  }

  start() {
    this.connect();
    return this;
  }

  get isOpen() {
    return this.ws !== null && this.ws.readyState === WebSocket.OPEN && this.state === "live";
  }

  send(command) {
    if (!this.isOpen) return false;
    this.ws.send(JSON.stringify(command));
    return true;
  }

  close() {
    this.closed = true;
    clearTimeout(this.gapTimer);
    clearTimeout(this.retryTimer);
    if (this.ws) closeQuietly(this.ws);
    this.setState("closed");
  }

  setState(state) {
    if (this.state === state) return;
    this.state = state;
    if (this.h.onState) this.h.onState(state);
  }

  connect() {
    if (this.closed) return;
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const ws = new WebSocket(`${scheme}://${location.host}${this.path}`);
    this.ws = ws;
    ws.addEventListener("message", (msg) => {
      if (ws !== this.ws) return;
      let event;
      try { event = JSON.parse(msg.data); } catch (exc) { return; }
      this.receive(event);
    });
    ws.addEventListener("close", () => {
      if (ws !== this.ws || this.closed) return;
      this.setState("reconnecting");
      const delay = RECONNECT_DELAYS[Math.min(this.attempt, RECONNECT_DELAYS.length - 1)];
      this.attempt += 1;
      if (this.h.onRetry) this.h.onRetry(this.attempt);
      this.retryTimer = setTimeout(() => this.connect(), delay);
    });
  }

  async receive(event) {
    if (event.local) {
      if (event.type === "hello") await this.hello(event);
      else if (event.type === "sync") this.sync(event);
      else if (event.type === "restarting") this.restarting();
      else if (event.type !== "pong" && this.h.onLocal) this.h.onLocal(event);
      return;
    }
    if (event.type === "error" && event.seq === 0 && event.error && event.error.code === "not_found") {
      // The session is gone (deleted elsewhere, or never existed): stop trying.
      this.closed = true;
      this.setState("closed");
      if (this.h.onGone) this.h.onGone();
      return;
    }
    if (typeof event.seq !== "number") return;
    // An event of another run than the one our seq counts: the hello or sync of this
    // connection sets the epoch first, so this is a stray from an earlier socket.
    if (event.epoch && this.epoch && event.epoch !== this.epoch) return;
    if (this.lastSeq !== null && event.seq <= this.lastSeq) return;
    // A merged delta stands for the events first_seq..seq: it is due after first_seq - 1.
    this.held.set(typeof event.first_seq === "number" ? event.first_seq : event.seq, event);
    this.drain();
  }

  restarting() {
    // The server is stopping and closes this socket next: the same as a lost
    // connection (the close handler reconnects with back-off).
    this.setState("reconnecting");
  }

  async hello(event) {
    this.attempt = 0;
    reached(true);
    if (this.lastSeq === null || event.epoch !== this.epoch || event.seq < this.lastSeq) {
      // First open, or a restarted server (a new epoch: its counter began again):
      // the persisted session over HTTP is the truth; events after hello.seq are
      // applied on top.
      this.lastSeq = event.seq;
      this.epoch = event.epoch;
      this.held.clear();
      this.loading = true;
      this.setState("live");
      try {
        await this.h.onReload();
      } catch (exc) {
        // The chat did not load (the server went away again): load it on the next connection.
        this.lastSeq = null;
        if (this.ws) this.ws.close();
        return;
      } finally {
        this.loading = false;
      }
      this.drain();
      return;
    }
    this.setState("live");
    this.ws.send(JSON.stringify({ type: "resume", after: this.lastSeq, epoch: this.epoch }));
  }

  sync(event) {
    this.lastSeq = event.seq;
    this.epoch = event.epoch;
    for (const seq of [...this.held.keys()]) if (seq <= this.lastSeq) this.held.delete(seq);
    if (this.h.onSync) this.h.onSync(event.session || event.document);
    this.drain();
  }

  drain() {
    if (this.loading || this.lastSeq === null) return;
    while (this.held.has(this.lastSeq + 1)) {
      const event = this.held.get(this.lastSeq + 1);
      this.held.delete(this.lastSeq + 1);
      this.lastSeq = event.seq;
      try {
        this.h.onEvent(event);
      } catch (exc) {
        console.error("event handler failed", exc);
      }
      if (event.type === "deleted") {
        this.close();
        return;
      }
    }
    // A merged event that began at or before what was applied cannot be cut: a resume replays the rest.
    let partly = false;
    for (const [key, held] of this.held) {
      if (key > this.lastSeq) continue;
      this.held.delete(key);
      if (held.seq > this.lastSeq) partly = true;
    }
    clearTimeout(this.gapTimer);
    if (this.held.size || partly) {
      // A hole in the sequence that does not fill: ask the server for what is missing.
      this.gapTimer = setTimeout(() => {
        if ((this.held.size || partly) && this.isOpen) {
          this.ws.send(JSON.stringify({ type: "resume", after: this.lastSeq, epoch: this.epoch }));
        }
      }, GAP_WAIT_MS);
    }
  }
}
