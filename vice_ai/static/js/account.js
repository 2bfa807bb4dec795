// The account page: change one's password, and make, list and revoke API tokens.
// A new token is shown once, from the answer that made it; the list never holds it.
import { api, del, get, post } from "./api.js";
import { confirmAction, el, fullTime, relativeTime, toast } from "./ui.js";

const $ = (id) => document.getElementById(id);

function show(node, message) {
  node.textContent = message || "";
  node.hidden = !message;
}

// -- password -------------------------------------------------------------------------
const pwForm = $("password-form");
if (pwForm) {
  pwForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const current = $("current-password").value;
    const next = $("new-password").value;
    $("password-done").hidden = true;
    if (next !== $("new-password2").value) { show($("password-error"), "The new passwords differ."); return; }
    const button = pwForm.querySelector("button[type=submit]");
    button.disabled = true;
    show($("password-error"), "");
    try {
      await api("PUT", "/api/me/password", { current_password: current, new_password: next });
      pwForm.reset();
      $("password-done").hidden = false;
    } catch (err) {
      show($("password-error"), err.message);
    } finally {
      button.disabled = false;
    }
  });
}

// -- tokens ---------------------------------------------------------------------------
function when(iso, never) {
  return iso ? el("time", { datetime: iso, title: fullTime(iso), text: relativeTime(iso) }) : never;
}

function tokenRow(token) {
  const revoke = el("button", { class: "btn btn-small btn-danger-text", type: "button", text: "Revoke",
    "aria-label": `Revoke ${token.name}` });
  revoke.addEventListener("click", async () => {
    if (!(await confirmAction(`Revoke the token “${token.name}”? Scripts using it stop working at once.`, "Revoke"))) return;
    revoke.disabled = true;
    try {
      await del(`/api/me/tokens/${encodeURIComponent(token.id)}`);
      toast(`Token “${token.name}” revoked.`);
      await loadTokens();
    } catch (err) {
      revoke.disabled = false;
      toast(err.message, { kind: "error" });
    }
  });
  return el("tr", { dataset: { tokenId: token.id } },
    el("td", { class: "cell-name", text: token.name }),
    el("td", {}, el("code", { text: `${token.hint}…` })),
    el("td", { "data-label": "Created" }, when(token.created_at, "")),
    el("td", { "data-label": "Last used" }, when(token.last_used_at, "never")),
    el("td", { class: "cell-actions" }, revoke));
}

async function loadTokens() {
  const box = $("token-list");
  try {
    const { tokens } = await get("/api/me/tokens");
    if (!tokens.length) {
      box.replaceChildren(el("p", { class: "muted small", text: "No tokens yet." }));
      return;
    }
    box.replaceChildren(el("table", { class: "data-table", id: "token-table" },
      el("thead", {}, el("tr", {}, ["Name", "Token", "Created", "Last used", ""].map((h) => el("th", { text: h })))),
      el("tbody", {}, tokens.map(tokenRow))));
  } catch (err) {
    box.replaceChildren(el("p", { class: "inline-error", text: err.message }));
  }
}

const tokenForm = $("token-form");
tokenForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  const name = $("token-name").value.trim();
  if (!name) return;
  const button = tokenForm.querySelector("button[type=submit]");
  button.disabled = true;
  show($("token-error"), "");
  try {
    const made = await post("/api/me/tokens", { name });
    $("new-token-value").textContent = made.token;
    $("new-token").hidden = false;
    tokenForm.reset();
    await loadTokens();
  } catch (err) {
    show($("token-error"), err.message);
  } finally {
    button.disabled = false;
  }
});

$("copy-token").addEventListener("click", async () => {
  try {
    await navigator.clipboard.writeText($("new-token-value").textContent);
    toast("Token copied.");
  } catch {
    // No clipboard (plain http on another host): select it so the user can copy by hand.
    const range = document.createRange();
    range.selectNodeContents($("new-token-value"));
    const selection = getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
    toast("Select and copy the token by hand.");
  }
});

$("hide-token").addEventListener("click", () => {
  // Forget it on this page too: it is shown once.
  $("new-token-value").textContent = "";
  $("new-token").hidden = true;
});

loadTokens();
