// Files as context: the chat's files (Attach, or drop files onto the chat), the document's files, each with its
// size in tokens, and the line of a reply's receipt that says how much of each file the model was sent.
import { get, del, ApiError } from "./api.js";
import { el, toast, confirmAction } from "./ui.js";

const KINDS = { pdf: "PDF", docx: "DOCX", markdown: "MD", text: "TXT" };

function tokens(n) {
  return `≈${Number(n || 0).toLocaleString("en")} tokens`;
}

function sizeText(bytes) {
  if (bytes >= 1024 * 1024) return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
  return bytes >= 1024 ? `${Math.round(bytes / 1024)} KB` : `${bytes} bytes`;
}

/** POST one file as multipart/form-data (field "file"); the created file, or an ApiError with the server's reason. */
export async function uploadFile(url, file) {
  const form = new FormData();
  form.append("file", file, file.name);
  let resp;
  try {
    // The same CSRF header as every other change (api.js); the browser sets the multipart boundary itself.
    resp = await fetch(url, { method: "POST", body: form, headers: { Accept: "application/json", "X-VICE-CSRF": "1" } });
  } catch (exc) {
    throw new ApiError(0, { error: { code: "network", message: "The server cannot be reached." } });
  }
  let data = null;
  try { data = JSON.parse(await resp.text()); } catch (exc) { data = null; }
  if (!resp.ok) throw new ApiError(resp.status, data);
  return data;
}

/** Upload files one after the other, telling each failure (the server says why) and counting the successes. */
async function uploadAll(url, files) {
  let added = 0;
  for (const file of files) {
    try {
      await uploadFile(url, file);
      added += 1;
    } catch (err) {
      toast(`Could not add “${file.name}”: ${err.message}`, { kind: "error", timeout: 10000 });
    }
  }
  return added;
}

/** One file as a list item: kind, name, size in tokens, and a remove button when `onDelete` is given. */
function fileItem(file, onDelete, note = "") {
  const details = [`${file.name}`, `${sizeText(file.size_bytes)} uploaded, ${tokens(file.tokens)} of text`];
  if (file.pages) details.push(`${file.pages} pages`);
  if (file.truncated) details.push("only the beginning was kept (the file is longer than the limit)");
  if (note) details.push(note);
  return el("li", { class: "file-item", dataset: { id: file.id, scope: file.scope }, title: details.join("\n") },
    el("span", { class: "file-kind", text: KINDS[file.kind] || "FILE" }),
    el("span", { class: "file-name", text: file.name }),
    el("span", { class: "file-tokens muted small", text: tokens(file.tokens) }),
    file.truncated ? el("span", { class: "file-cut small", text: "cut" }) : "",
    onDelete ? el("button", {
      class: "icon-btn file-remove", type: "button", text: "×", "aria-label": `Remove ${file.name}`,
      onclick: () => onDelete(file),
    }) : "");
}

async function confirmRemove(file, url) {
  if (!(await confirmAction(`Remove “${file.name}”? Replies will no longer be given its text.`, "Remove"))) return false;
  try {
    await del(url);
    return true;
  } catch (err) {
    toast(`Could not remove the file: ${err.message}`, { kind: "error" });
    return false;
  }
}

/** The files strip of the chat pane: the open chat's files and its document's, Attach and drop. */
export class ChatFiles {
  constructor(chat, { strip, attachButton, input, dropZone }) {
    this.chat = chat;
    this.strip = strip;
    this.attachButton = attachButton;
    this.input = input;
    this.sessionId = null;
    this.files = [];
    this.attachButton.addEventListener("click", () => this.input.click());
    this.input.addEventListener("change", () => {
      const chosen = [...this.input.files];
      this.input.value = "";
      this.attach(chosen);
    });
    dropZone.addEventListener("dragover", (ev) => {
      if (!this.mayAttach || !ev.dataTransfer || ![...ev.dataTransfer.types].includes("Files")) return;
      ev.preventDefault();
      dropZone.classList.add("is-drop-target");
    });
    dropZone.addEventListener("dragleave", (ev) => {
      if (!dropZone.contains(ev.relatedTarget)) dropZone.classList.remove("is-drop-target");
    });
    dropZone.addEventListener("drop", (ev) => {
      dropZone.classList.remove("is-drop-target");
      if (!this.mayAttach || !ev.dataTransfer || !ev.dataTransfer.files.length) return;
      ev.preventDefault();
      this.attach([...ev.dataTransfer.files]);
    });
    this.render();
  }

  /** With no chat open, attaching starts one (as the first message does): that needs edit access to the document. */
  get mayAttach() {
    if (!this.chat.section) return false;
    return this.chat.session ? this.chat.canWriteChat : this.chat.canEditDoc;
  }

  setSession(id) {
    this.sessionId = id;
    this.files = [];
    this.render();
    if (id) this.refresh();
  }

  accessChanged() {
    this.render();
  }

  async refresh() {
    const id = this.sessionId;
    if (!id) return;
    try {
      const data = await get(`/api/sessions/${id}/files`);
      if (id !== this.sessionId) return;
      this.files = data.files;
      this.render();
    } catch (err) {
      if (err.status !== 404) toast(`Could not load the chat's files: ${err.message}`, { kind: "error" });
    }
  }

  async attach(files) {
    if (!files.length || !this.mayAttach) return;
    if (!this.chat.session && !(await this.chat.newSession())) return;
    const id = this.chat.session.id;
    const added = await uploadAll(`/api/sessions/${id}/files`, files);
    if (added) toast(added === 1 ? "File attached: the next replies are given its text." : `${added} files attached.`);
    if (id === this.sessionId) this.refresh();
  }

  async remove(file) {
    const id = this.sessionId;
    if (await confirmRemove(file, `/api/sessions/${id}/files/${file.id}`)) this.refresh();
  }

  render() {
    this.attachButton.disabled = !this.mayAttach;
    this.attachButton.hidden = Boolean(this.chat.section) && !this.mayAttach;
    this.strip.hidden = !this.files.length;
    if (!this.files.length) { this.strip.replaceChildren(); return; }
    const total = this.files.reduce((sum, f) => sum + (f.tokens || 0), 0);
    const canDelete = this.chat.canWriteChat;
    const items = this.files.map((f) => (f.scope === "chat"
      ? fileItem(f, canDelete ? (file) => this.remove(file) : null)
      : fileItem(f, null, "A file of the document: every chat of the document is given it.")));
    this.strip.replaceChildren(
      el("span", { class: "files-label small", text: `Files (${tokens(total)})`, title: "Given to every reply of this chat, whole when they fit, else the parts that matter for the question" }),
      el("ul", { class: "file-list", "aria-label": "Files of this chat" }, items));
  }
}

/** "Document files" above the sections: files every chat of the document is given. */
export class DocumentFiles {
  constructor({ documentId, box, list, count, addButton, input, onChange }) {
    Object.assign(this, { documentId, box, list, count, addButton, input, onChange });
    this.canEdit = false;
    this.files = [];
    this.addButton.addEventListener("click", () => this.input.click());
    this.input.addEventListener("change", async () => {
      const chosen = [...this.input.files];
      this.input.value = "";
      const added = await uploadAll(`/api/documents/${this.documentId}/files`, chosen);
      if (added) toast(added === 1 ? "File added: every chat of this document is given its text." : `${added} files added.`);
      this.refresh();
    });
  }

  setAccess(level) {
    this.canEdit = level === "owner" || level === "edit";
    this.render();
  }

  async refresh() {
    try {
      this.files = (await get(`/api/documents/${this.documentId}/files`)).files;
    } catch (err) {
      toast(`Could not load the document's files: ${err.message}`, { kind: "error" });
      return;
    }
    this.render();
    if (this.onChange) this.onChange();
  }

  async remove(file) {
    if (await confirmRemove(file, `/api/documents/${this.documentId}/files/${file.id}`)) this.refresh();
  }

  render() {
    this.addButton.hidden = !this.canEdit;
    this.count.textContent = this.files.length ? `${this.files.length} · ${tokens(this.files.reduce((s, f) => s + (f.tokens || 0), 0))}` : "none";
    const items = this.files.map((f) => fileItem(f, this.canEdit ? (file) => this.remove(file) : null));
    if (!items.length) items.push(el("li", { class: "file-empty muted small", text: "No files yet. Files added here are given to every chat of this document." }));
    this.list.replaceChildren(...items);
  }
}

/** The receipt's line about files: each file with the tokens sent of its total (null when none were attached). */
export function receiptFilesLine(receipt) {
  const files = (receipt && receipt.files) || [];
  if (!files.length) return null;
  const parts = files.map((f) => (f.whole ? `${f.name} (${tokens(f.tokens_total)})`
    : `${f.name} (${Number(f.tokens_included).toLocaleString("en")} of ${tokens(f.tokens_total)})`));
  return el("span", {
    class: "receipt-files muted small", text: `Files: ${parts.join(" · ")}`,
    title: "The files given with this reply: whole, or the parts most relevant to the question when they did not all fit",
  });
}
