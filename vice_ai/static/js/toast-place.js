// Where the toasts (ui.js) show: at the bottom of the screen (on a wide screen at the left, over the document), and
// never over the header, the open search results or the chat's own controls (its head and toolbar, the composer):
// when one of those is there (a phone, where the page scrolls under a fixed place), the toasts go up into the lowest
// band of the screen that is clear of them. Placed again when a toast comes or goes, the search results open or close,
// the page scrolls or the window changes size.
const KEEP_CLEAR = [".topbar", ".storage-banner", "#search-results", ".chat-head", "#chat-toolbar", ".view-note",
  "#jump-latest", "#composer"].join(", ");
const GAP = 10; // px between the toasts and what they keep clear of

let queued = false;

/** The vertical spans (viewport px) of the shown elements to keep clear that share columns with `box`. */
function blocked(box) {
  const spans = [];
  for (const node of document.querySelectorAll(KEEP_CLEAR)) {
    const r = node.getBoundingClientRect();
    if (!r.width || !r.height || r.right <= box.left || r.left >= box.right) continue;
    if (r.bottom <= 0 || r.top >= window.innerHeight) continue;
    spans.push([r.top - GAP, r.bottom + GAP]);
  }
  return spans.sort((a, b) => a[0] - b[0]);
}

/** The free bands of the screen between the blocked spans, lowest first. */
function bands(spans) {
  const free = [];
  let top = 0;
  for (const [from, to] of spans) {
    if (from > top) free.push([top, from]);
    top = Math.max(top, to);
  }
  if (top < window.innerHeight) free.push([top, window.innerHeight]);
  return free.reverse();
}

export function placeToasts() {
  queued = false;
  const box = document.getElementById("toasts");
  if (!box) return;
  box.style.bottom = ""; // the stylesheet's place, to measure from
  if (!box.children.length) return;
  const rect = box.getBoundingClientRect();
  const margin = window.innerHeight - rect.bottom;
  const free = bands(blocked(rect)).map(([top, bottom]) => [top, Math.min(bottom, window.innerHeight - margin)]);
  const fits = free.find(([top, bottom]) => bottom - top >= rect.height);
  const band = fits || free.reduce((best, b) => (!best || b[1] - b[0] > best[1] - best[0] ? b : best), null);
  if (band) box.style.bottom = `${Math.round(window.innerHeight - band[1])}px`;
}

function queue() {
  const box = document.getElementById("toasts");
  if (queued || !box || !box.children.length) return;
  queued = true;
  requestAnimationFrame(placeToasts);
}

const box = document.getElementById("toasts");
if (box) {
  new MutationObserver(placeToasts).observe(box, { childList: true, subtree: true, characterData: true });
  const results = document.getElementById("search-results");
  if (results) new MutationObserver(queue).observe(results, { attributes: true, childList: true });
  document.addEventListener("scroll", queue, { capture: true, passive: true });
  window.addEventListener("resize", queue);
}
