// JSON API calls with one error type, so every caller reports failures the same way.

export class ApiError extends Error {
  constructor(status, body) {
    const err = (body && body.error) || {};
    super(err.message || `The server answered ${status}.`);
    this.status = status;
    this.code = err.code || (status === 0 ? "network" : "error");
    this.details = err;
  }
}

/**
 * Whether the server answers: "lost" when a request finds no server, "back" when one is answered again
 * (a request or a websocket hello), so what failed meanwhile is tried again at once (recovery.js).
 */
export const connection = new EventTarget();
let reachable = true;

export const isReachable = () => reachable;

export function reached(ok) {
  if (ok === reachable) return;
  reachable = ok;
  connection.dispatchEvent(new Event(ok ? "back" : "lost"));
}

export async function api(method, path, body) {
  const init = { method, headers: { Accept: "application/json" } };
  // The server refuses state changes without this header: a cross-site form cannot add it.
  if (method !== "GET" && method !== "HEAD") init.headers["X-VICE-CSRF"] = "1";
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let resp;
  try {
    resp = await fetch(path, init);
  } catch (exc) {
    // The server is down or restarting: a network error, not an HTTP status.
    reached(false);
    throw new ApiError(0, { error: { code: "network", message: "The server cannot be reached. Retrying…" } });
  }
  reached(true);
  let data = null;
  const text = await resp.text();
  if (text) {
    try { data = JSON.parse(text); } catch (exc) { data = null; }
  }
  if (resp.status === 401 && !path.startsWith("/api/auth/")) {
    // Signed out (expired, or signed out in another tab): sign in and come back here.
    window.location.assign(`/signin?next=${encodeURIComponent(location.pathname + location.search)}`);
  }
  if (!resp.ok) throw new ApiError(resp.status, data);
  return data;
}

export const get = (path) => api("GET", path);
export const post = (path, body) => api("POST", path, body === undefined ? {} : body);
export const patch = (path, body) => api("PATCH", path, body);
export const del = (path) => api("DELETE", path);
