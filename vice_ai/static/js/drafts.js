// Drafts in this browser (localStorage): the unsaved text of a section and the unsent text of a chat,
// per user, document, section and chat, so that a reload, a crash or an outage loses no typing.
// A draft is removed once its text is saved or sent; drafts older than 30 days are dropped, and a full
// storage drops the oldest ones. And the warning before leaving a page with unsaved text.

const PREFIX = "vice.draft.";
const MAX_AGE_MS = 30 * 24 * 3600 * 1000;

/** Who types here: the signed-in user's name in the header, or the one local user. */
function who() {
  const name = document.getElementById("user-name");
  return name ? name.textContent.trim() : "local";
}

/** The storage key of one draft: kind is "section" (id: the section), "chat" (the chat) or "new-chat" (the section). */
export function draftKey(documentId, kind, id) {
  return `${PREFIX}${encodeURIComponent(who())}/${documentId}/${kind}/${id}`;
}

function storage() {
  try {
    return window.localStorage; // null, or a throw, when the browser keeps nothing for this site
  } catch (exc) {
    return null;
  }
}

/** The draft under `key` (an object with `at`, the time it was written), or null. */
export function readDraft(key) {
  const store = storage();
  if (!store) return null;
  let draft = null;
  try {
    draft = JSON.parse(store.getItem(key));
  } catch (exc) {
    draft = null;
  }
  if (!draft || typeof draft !== "object" || !(Date.now() - draft.at < MAX_AGE_MS)) {
    removeDraft(key);
    return null;
  }
  return draft;
}

/** Keep `value` under `key`; false when the browser would not keep it even after dropping old drafts. */
export function writeDraft(key, value) {
  const store = storage();
  if (!store) return false;
  const text = JSON.stringify({ ...value, at: Date.now() });
  for (const squeeze of [false, true]) {
    try {
      store.setItem(key, text);
      return true;
    } catch (exc) {
      if (squeeze) return false;
      pruneDrafts({ squeeze: true }); // the storage is full: make room
    }
  }
  return false;
}

export function removeDraft(key) {
  const store = storage();
  if (!store) return;
  try {
    store.removeItem(key);
  } catch (exc) {
    // nothing to remove
  }
}

/** Drop unreadable drafts and those older than 30 days; squeezed (storage full), the older half of the rest too. */
export function pruneDrafts({ squeeze = false } = {}) {
  const store = storage();
  if (!store) return;
  const kept = [];
  try {
    for (let i = 0; i < store.length; i += 1) {
      const key = store.key(i);
      if (!key || !key.startsWith(PREFIX)) continue;
      let at = NaN;
      try { at = JSON.parse(store.getItem(key)).at; } catch (exc) { at = NaN; }
      kept.push({ key, at: Number.isFinite(at) ? at : 0 });
    }
  } catch (exc) {
    return;
  }
  const now = Date.now();
  const old = kept.filter((d) => !(now - d.at < MAX_AGE_MS));
  let drop = old;
  if (squeeze) {
    const fresh = kept.filter((d) => now - d.at < MAX_AGE_MS).sort((a, b) => a.at - b.at);
    drop = old.concat(fresh.slice(0, Math.ceil(fresh.length / 2)));
  }
  for (const d of drop) removeDraft(d.key);
}

// -- leaving the page ----------------------------------------------------------------------
const checks = new Set();

/** Warn before the page is left while `check()` says some text is not saved; returns the undo. */
export function warnBeforeLeaving(check) {
  checks.add(check);
  return () => checks.delete(check);
}

export function hasUnsaved() {
  return [...checks].some((check) => check());
}

window.addEventListener("beforeunload", (ev) => {
  if (!hasUnsaved()) return;
  ev.preventDefault();
  ev.returnValue = ""; // older browsers ask only when this is set
});

pruneDrafts();
