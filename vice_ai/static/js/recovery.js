// Trying again what failed because the server was away: after a growing delay, and at once when the
// server answers again (any request or websocket hello, see api.js) or the browser is back online.
import { connection, isReachable } from "./api.js";

const DELAYS = [1000, 2000, 4000, 8000, 15000];

export class Retry {
  /** `attempt` runs once per schedule(); it calls schedule() again itself when it fails again. */
  constructor(attempt, delays = DELAYS) {
    this.attempt = attempt;
    this.delays = delays;
    this.count = 0;
    this.timer = null;
    this.now = () => this.fire();
  }

  get pending() {
    return this.timer !== null;
  }

  /** Arm the next attempt (one at a time: a second call while one waits changes nothing). */
  schedule() {
    if (this.timer !== null) return;
    const delay = this.delays[Math.min(this.count, this.delays.length - 1)];
    this.count += 1;
    this.timer = setTimeout(this.now, delay);
    connection.addEventListener("back", this.now);
    window.addEventListener("online", this.now);
  }

  fire() {
    if (this.timer === null) return;
    this.clear();
    this.attempt();
  }

  /** Forget the waiting attempt (the delays go on growing). */
  clear() {
    clearTimeout(this.timer);
    this.timer = null;
    connection.removeEventListener("back", this.now);
    window.removeEventListener("online", this.now);
  }

  /** It worked: no attempt waits and the next failure starts with the shortest delay. */
  reset() {
    this.clear();
    this.count = 0;
  }
}

/** Call `load` (truthy when it worked) again while the server cannot be reached; the promise has its result (null: refused). */
export function untilLoaded(load) {
  return new Promise((resolve) => {
    const retry = new Retry(async () => {
      const result = await load();
      if (result || isReachable()) resolve(result || null); // an answer, or a refusal (404) that waiting will not change
      else retry.schedule();
    });
    retry.attempt();
  });
}
