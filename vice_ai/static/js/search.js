// The header's search box: results as you type (GET /api/search), keyboard navigation, and opening a result.
//
// A result opens /documents/<id> with the URL hash contract `#section=<id>&chat=<id>&message=<id>`:
// document.js selects the section and the chat (also when only the hash changes on the same page), and this
// module scrolls the message into view and marks it for a moment (`data-search-hit`).
import { get } from "./api.js";
import { el } from "./ui.js";

const DEBOUNCE_MS = 150;
const HIT_MS = 4000;
const WAIT_MS = 8000;
const KIND_LABELS = { document: "Document", section: "Section", chat: "Chat", message: "Message" };

const form = document.getElementById("search-form");
const input = document.getElementById("search-input");
const box = document.getElementById("search-results");
const clear = document.getElementById("search-clear");

let results = [];
let active = -1;
let timer = null;
let asked = 0; // the number of the latest request: older answers are dropped

/** A snippet as text nodes and <mark>s; `matches` count Unicode code points. Never HTML from the server. */
export function snippetNodes(text, matches) {
  const chars = Array.from(text);
  const nodes = [];
  let at = 0;
  for (const [start, end] of matches) {
    if (start < at || end <= start) continue;
    if (start > at) nodes.push(chars.slice(at, start).join(""));
    nodes.push(el("mark", { text: chars.slice(start, end).join("") }));
    at = end;
  }
  if (at < chars.length) nodes.push(chars.slice(at).join(""));
  return nodes;
}

/** Where a result opens: the document page, with its section, chat and message in the hash. */
export function resultUrl(result) {
  const params = new URLSearchParams();
  if (result.section_id) params.set("section", result.section_id);
  if (result.session_id) params.set("chat", result.session_id);
  if (result.message_id) params.set("message", result.message_id);
  const hash = params.toString();
  return `/documents/${encodeURIComponent(result.document_id)}${hash ? `#${hash}` : ""}`;
}

/** Where a result is: its document, the heading its section is under (an untitled one has its heading's), its chat. */
function where(result) {
  const parts = [result.document_title];
  const heading = result.section_heading;
  if (heading && (result.kind !== "section" || !result.section_title)) parts.push(heading);
  if (result.kind === "message") parts.push(result.title);
  return parts.join(" › ");
}

function titleOf(result) {
  if (result.kind === "message") return where(result);
  return result.title || (result.kind === "section" ? "Untitled section" : "");
}

function render(message = null) {
  box.replaceChildren();
  if (message) {
    box.append(el("div", { class: "search-note muted small", text: message }));
  }
  results.forEach((result, i) => {
    const label = result.kind === "message" ? (result.role === "user" ? "You" : "Assistant") : KIND_LABELS[result.kind];
    box.append(el("a", {
      class: "search-result", id: `search-result-${i}`, role: "option", href: resultUrl(result),
      "aria-selected": i === active ? "true" : "false", dataset: { kind: result.kind },
      onmousedown: (ev) => ev.preventDefault(), // keep the input's focus until the click opens it
      onclick: (ev) => { ev.preventDefault(); open(result); },
    },
    el("span", { class: "search-result-head" },
      el("span", { class: "search-kind", text: label + (result.archived ? " · archived" : "") }),
      el("span", { class: "search-title", text: titleOf(result) })),
    el("span", { class: "search-snippet" }, ...snippetNodes(result.snippet, result.matches)),
    result.kind !== "message" && result.kind !== "document"
      ? el("span", { class: "search-where muted small", text: where(result) }) : null));
  });
  const shown = Boolean(message) || results.length > 0;
  box.hidden = !shown;
  input.setAttribute("aria-expanded", shown ? "true" : "false");
  if (active >= 0) input.setAttribute("aria-activedescendant", `search-result-${active}`);
  else input.removeAttribute("aria-activedescendant");
}

function close() {
  results = [];
  active = -1;
  render();
}

async function run() {
  const q = input.value;
  if (!q.trim()) { close(); return; }
  const mine = ++asked;
  let data;
  try {
    data = await get(`/api/search?${new URLSearchParams({ q, limit: "20" })}`);
  } catch (err) {
    if (mine !== asked) return;
    results = [];
    active = -1;
    render(`Search failed: ${err.message}`);
    return;
  }
  if (mine !== asked || document.activeElement !== input) return;
  results = data.results;
  active = results.length ? 0 : -1;
  render(results.length ? null : "Nothing found.");
}

function move(step) {
  if (!results.length) return;
  active = (active + step + results.length) % results.length;
  render();
  const node = document.getElementById(`search-result-${active}`);
  if (node) node.scrollIntoView({ block: "nearest" });
}

function open(result) {
  const url = resultUrl(result);
  close();
  input.blur();
  const here = location.pathname === `/documents/${result.document_id}`;
  if (!here) { location.assign(url); return; }
  // The same document: document.js follows the hash; the message is revealed once its chat shows it.
  const hash = url.includes("#") ? url.slice(url.indexOf("#")) : "";
  if (location.hash === hash) window.dispatchEvent(new HashChangeEvent("hashchange"));
  else location.hash = hash;
  if (result.message_id) reveal(result.message_id);
}

/** Scroll a message into view and mark it, waiting for its chat to load it. */
export function reveal(messageId) {
  const list = document.getElementById("messages");
  if (!list) return;
  const find = () => list.querySelector(`.msg[data-id="${CSS.escape(messageId)}"]`);
  const show = (node) => {
    for (const old of list.querySelectorAll("[data-search-hit]")) delete old.dataset.searchHit;
    node.dataset.searchHit = "1";
    node.scrollIntoView({ block: "center" });
    setTimeout(() => { delete node.dataset.searchHit; }, HIT_MS);
  };
  const found = find();
  if (found) { show(found); return; }
  const watcher = new MutationObserver(() => {
    const node = find();
    if (node) { watcher.disconnect(); show(node); }
  });
  watcher.observe(list, { childList: true, subtree: true });
  setTimeout(() => watcher.disconnect(), WAIT_MS);
}

function typing(target) {
  return target instanceof HTMLElement
    && (target.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName));
}

function wire() {
  input.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(run, DEBOUNCE_MS);
  });
  input.addEventListener("focus", () => { if (input.value.trim()) run(); });
  input.addEventListener("blur", () => setTimeout(() => { if (document.activeElement !== input) close(); }, 100));
  input.addEventListener("keydown", (ev) => {
    if (ev.key === "ArrowDown") { ev.preventDefault(); move(1); }
    else if (ev.key === "ArrowUp") { ev.preventDefault(); move(-1); }
    else if (ev.key === "Escape") { ev.preventDefault(); if (results.length || !box.hidden) close(); else input.blur(); }
  });
  // The ×: empties the box and keeps it open for another query (the input keeps its focus).
  clear?.addEventListener("mousedown", (ev) => ev.preventDefault());
  clear?.addEventListener("click", () => {
    clearTimeout(timer);
    asked += 1; // an answer on its way is for the old query
    input.value = "";
    close();
    input.focus();
  });
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    if (active >= 0 && results[active]) open(results[active]);
    else run();
  });
  document.addEventListener("keydown", (ev) => {
    const ctrlK = (ev.ctrlKey || ev.metaKey) && !ev.altKey && ev.key.toLowerCase() === "k";
    const slash = ev.key === "/" && !ev.ctrlKey && !ev.metaKey && !ev.altKey && !typing(ev.target);
    if (!ctrlK && !slash) return;
    if (document.querySelector("dialog[open]")) return;
    ev.preventDefault();
    input.focus();
    input.select();
  });
  // Arriving from a result on another page: the message to show is in the hash.
  const wanted = new URLSearchParams(location.hash.slice(1)).get("message");
  if (wanted) reveal(wanted);
}

if (form && input && box) wire();
