// The documents page's own websocket (/ws/documents): a document shared with this user appears, one deleted or
// no longer shared goes, and a rename or any change shows, in place (README "The document list socket").
// The socket is live.js's (reconnect, resume in seq order, a reload after a restart); this module only says what
// each event does to the list.
import { get } from "./api.js";
import { SessionSocket } from "./live.js";

/**
 * list: the #doc-list box; renderRow(doc) -> the row of a document; reload() -> Promise: the list over HTTP
 * (first open, a restarted server, a sync, an empty list filling).
 */
export function liveList({ list, renderRow, reload }) {
  let loaded = false;
  const load = () => { loaded = true; return reload(); };
  const rowOf = (id) => [...list.querySelectorAll(".doc-rows > .doc-row[data-id]")].find((r) => r.dataset.id === id);

  function listed(doc) {
    const rows = list.querySelector(".doc-rows");
    if (!rows) { load(); return; } // the empty state: the list as the server has it now
    const old = rowOf(doc.id);
    if (old && old.querySelector(".rename-input")) return; // renamed here right now: its own answer shows it
    const row = renderRow(doc);
    const controls = (r) => [...r.querySelectorAll("a, button")];
    const focused = old ? controls(old).indexOf(document.activeElement) : -1;
    if (focused >= 0) { // the keyboard is on this row (its own rename just saved, say): it stays where it is
      old.replaceWith(row);
      const same = controls(row)[focused];
      if (same) same.focus();
      return;
    }
    if (old) old.remove();
    // Newest change first, as the server orders it (ISO times compare as text).
    const after = [...rows.querySelectorAll(".doc-row[data-id]")]
      .find((r) => (r.querySelector("time.doc-updated") || {}).dateTime < doc.updated_at);
    if (after) rows.insertBefore(row, after);
    else rows.append(row);
  }

  function unlisted(id) {
    const row = rowOf(id);
    if (!row) return;
    row.remove();
    if (!list.querySelector(".doc-rows > .doc-row[data-id]")) load(); // the last one went: say the list is empty
  }

  return new SessionSocket(null, {
    onReload: () => load(),
    onSync: () => { load(); },
    onEvent: (event) => {
      if (event.type === "document_listed") listed(event.document);
      else if (event.type === "document_unlisted") unlisted(event.document_id);
    },
    onState: (state) => { list.dataset.live = state; },
    onRetry: (attempt) => {
      if (!loaded) load(); // no socket yet: the list over HTTP all the same
      // A refused handshake looks like a dropped line: HTTP says which it is (api.js handles a sign-out).
      else if (attempt % 3 === 0) get("/api/documents?limit=1").catch(() => {});
    },
  }, { path: "/ws/documents" }).start();
}
