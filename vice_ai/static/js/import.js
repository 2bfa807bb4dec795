// The documents page's Import button: a Markdown, DOCX or bundle file becomes a new document, opened at once.
import { ApiError } from "./api.js";
import { el, toast } from "./ui.js";

const ACCEPT = ".md,.markdown,.txt,.docx,.zip,text/markdown,text/plain,application/zip,"
  + "application/vnd.openxmlformats-officedocument.wordprocessingml.document";

async function upload(file) {
  const body = new FormData();
  body.append("file", file, file.name);
  let resp;
  try {
    // The server refuses changes without this header: a form on another site cannot add it.
    resp = await fetch("/api/documents/import", { method: "POST", body, headers: { Accept: "application/json", "X-VICE-CSRF": "1" } });
  } catch (exc) {
    throw new ApiError(0, { error: { code: "network", message: "The server cannot be reached." } });
  }
  let data = null;
  try { data = await resp.json(); } catch (exc) { data = null; }
  if (resp.status === 401) window.location.assign(`/signin?next=${encodeURIComponent(location.pathname)}`);
  if (!resp.ok) throw new ApiError(resp.status, data);
  return data;
}

function setup() {
  const form = document.getElementById("create-doc");
  const errorBox = document.getElementById("docs-error");
  if (!form || !errorBox) return;
  const input = el("input", { id: "import-file", class: "visually-hidden", type: "file", accept: ACCEPT, tabindex: "-1",
    "aria-label": "File to import" });
  const button = el("button", { id: "import-btn", class: "btn", type: "button", text: "Import…",
    title: "A Markdown, Word (DOCX) or bundle file as a new document", onclick: () => input.click() });
  form.append(button, input);
  input.addEventListener("change", async () => {
    const file = input.files[0];
    input.value = "";
    if (!file) return;
    button.disabled = true;
    button.textContent = "Importing…";
    errorBox.hidden = true;
    try {
      const doc = await upload(file);
      const chats = doc.sessions ? ` with ${doc.sessions} chat${doc.sessions === 1 ? "" : "s"}` : "";
      toast(`Imported “${doc.title}”${chats}.`);
      window.location.assign(`/documents/${encodeURIComponent(doc.id)}`);
    } catch (err) {
      errorBox.textContent = `Could not import ${file.name}: ${err.message}`;
      errorBox.hidden = false;
      button.disabled = false;
      button.textContent = "Import…";
    }
  });
}

setup();
