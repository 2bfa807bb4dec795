// The documents page: list, create, rename, delete, open.
import { get, post, patch, del } from "./api.js";
import { el, toast, confirmAction, relativeTime, fullTime } from "./ui.js";
import { liveList } from "./documents-live.js";

const list = document.getElementById("doc-list");
const form = document.getElementById("create-doc");
const titleInput = document.getElementById("new-doc-title");
const errorBox = document.getElementById("docs-error");

function showError(message) {
  errorBox.textContent = message;
  errorBox.hidden = !message;
}

function docUrl(doc) {
  return `/documents/${encodeURIComponent(doc.id)}`;
}

function renderRow(doc) {
  const link = el("a", { class: "doc-link", href: docUrl(doc), text: doc.title });
  const titleCell = el("div", { class: "doc-title-cell" }, link);
  // Someone else's document: say so, and offer only what the share allows (editors rename, only the owner deletes).
  const shared = doc.access === "edit" || doc.access === "read";
  if (shared) link.after(el("span", { class: "doc-shared muted small", text: "Shared with you", title: doc.access === "edit" ? "You can edit it" : "You can read it" }));
  if (doc.description) titleCell.append(el("div", { class: "muted small", text: doc.description }));
  const count = doc.section_count === 1 ? "1 section" : `${doc.section_count} sections`;
  const row = el("li", { class: "doc-row", dataset: { id: doc.id } },
    titleCell,
    el("span", { class: "doc-sections muted", text: count }),
    el("time", { class: "doc-updated muted", datetime: doc.updated_at, title: `Last change ${fullTime(doc.updated_at)}`, text: relativeTime(doc.updated_at) }),
    el("span", { class: "doc-actions" },
      el("a", { class: "btn btn-small", href: docUrl(doc), text: "Open" }),
      doc.access === "read" ? null
        : el("button", { class: "btn btn-small btn-ghost doc-rename", type: "button", text: "Rename", onclick: () => startRename(row, doc) }),
      shared ? null
        : el("button", { class: "btn btn-small btn-ghost btn-danger-text", type: "button", text: "Delete", onclick: () => remove(doc) }),
    ),
  );
  return row;
}

function startRename(row, doc) {
  const cell = row.querySelector(".doc-title-cell");
  const input = el("input", { class: "rename-input", value: doc.title, maxlength: 300, "aria-label": "New title" });
  const original = cell.cloneNode(true);
  let done = false;
  // Enter or Escape: the keyboard goes back to the row's Rename button (a click elsewhere keeps its focus).
  const finish = async (save, refocus = true) => {
    if (done) return;
    done = true;
    const title = input.value.trim();
    let shown = row;
    if (save && title && title !== doc.title) {
      try {
        shown = renderRow(await patch(`/api/documents/${doc.id}`, { title }));
        row.replaceWith(shown);
      } catch (err) {
        toast(err.message, { kind: "error" });
      }
    }
    if (shown === row) cell.replaceWith(original);
    if (refocus) shown.querySelector(".doc-rename").focus();
  };
  input.addEventListener("keydown", (ev) => {
    if (ev.key === "Enter") { ev.preventDefault(); finish(true); }
    if (ev.key === "Escape") { ev.preventDefault(); finish(false); }
  });
  input.addEventListener("blur", () => finish(true, false));
  cell.replaceChildren(input);
  input.focus();
  input.select();
}

async function remove(doc) {
  const ok = await confirmAction(`Delete “${doc.title}” with all its sections and chats? This cannot be undone.`);
  if (!ok) return;
  try {
    await del(`/api/documents/${doc.id}`);
    toast(`Deleted “${doc.title}”.`);
    await load();
  } catch (err) {
    toast(err.message, { kind: "error" });
  }
}

/** The list comes a page at a time: "Show more" asks for the page after the last one shown. */
function moreButton(rows, cursor) {
  list.querySelectorAll(".docs-more").forEach((n) => n.remove());
  if (!cursor) return;
  const button = el("button", { class: "btn docs-more", type: "button", text: "Show more documents" });
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      const data = await get(`/api/documents?cursor=${encodeURIComponent(cursor)}`);
      const shown = new Set([...rows.querySelectorAll(".doc-row[data-id]")].map((r) => r.dataset.id));
      rows.append(...data.documents.filter((d) => !shown.has(d.id)).map(renderRow));
      moreButton(rows, data.next_cursor);
    } catch (err) {
      button.disabled = false;
      toast(`Could not load more documents: ${err.message}`, { kind: "error" });
    }
  });
  list.append(button);
}

async function load() {
  try {
    const data = await get("/api/documents");
    showError("");
    if (!data.documents.length) {
      list.replaceChildren(el("div", { class: "empty-state" },
        el("p", { text: "No documents yet — create one above." }),
        el("p", { class: "muted small", text: "A document is a list of sections; each section gets its own chats." })));
      return;
    }
    const head = el("li", { class: "doc-row doc-row-head", "aria-hidden": "true" },
      el("span", { text: "Title" }), el("span", { text: "Sections" }), el("span", { text: "Last change" }), el("span"));
    const rows = el("ul", { class: "doc-rows" }, head, data.documents.map(renderRow));
    list.replaceChildren(rows);
    moreButton(rows, data.next_cursor);
  } catch (err) {
    showError(`Could not load the documents: ${err.message}`);
  }
}

form.addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const title = titleInput.value.trim();
  if (!title) { titleInput.focus(); return; }
  const button = form.querySelector("button");
  button.disabled = true;
  try {
    const doc = await post("/api/documents", { title });
    window.location.assign(docUrl(doc));
  } catch (err) {
    showError(err.message);
    button.disabled = false;
  }
});

liveList({ list, renderRow, reload: load }); // loads the list, then keeps it current (documents-live.js)
