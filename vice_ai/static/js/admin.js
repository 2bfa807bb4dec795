// The admin page: every account, with buttons to make or remove an admin and to reset a
// password; a form to create users. The server has the last word (e.g. 409 for the last admin).
import { api, get, patch, post } from "./api.js";
import { confirmAction, el, fullTime, relativeTime, toast } from "./ui.js";

const $ = (id) => document.getElementById(id);
const list = $("user-list");
const passwordMode = list.dataset.passwordMode === "yes";
const me = list.dataset.me;

function show(node, message) {
  node.textContent = message || "";
  node.hidden = !message;
}

function when(iso, never) {
  return iso ? el("time", { datetime: iso, title: fullTime(iso), text: relativeTime(iso) }) : never;
}

async function setAdmin(user, isAdmin) {
  const question = isAdmin ? `Make ${user.username} an admin? Admins manage every account.`
    : `Remove ${user.username}'s admin rights?`;
  if (!(await confirmAction(question, isAdmin ? "Make admin" : "Remove admin"))) return;
  try {
    await patch(`/api/users/${encodeURIComponent(user.id)}`, { is_admin: isAdmin });
    toast(isAdmin ? `${user.username} is now an admin.` : `${user.username} is no longer an admin.`);
    if (!isAdmin && user.id === me) { location.assign("/"); return; }
    await loadUsers();
  } catch (err) {
    toast(err.message, { kind: "error" });
  }
}

function resetPassword(user) {
  const dialog = $("reset-dialog");
  const input = $("reset-password");
  $("reset-name").textContent = user.username;
  input.value = "";
  show($("reset-error"), "");
  dialog.returnValue = "";
  dialog.showModal();
  input.focus();
  const form = $("reset-form");
  const submit = async (event) => {
    event.preventDefault();  // Enter in the field submits too: the dialog stays open until the server agrees
    try {
      await api("PUT", `/api/users/${encodeURIComponent(user.id)}/password`, { new_password: input.value });
      dialog.close();
      toast(`New password set for ${user.username}; their browsers are signed out.`);
    } catch (err) {
      show($("reset-error"), err.message);
    }
  };
  form.addEventListener("submit", submit);
  dialog.addEventListener("close", () => form.removeEventListener("submit", submit), { once: true });
}

$("reset-cancel").addEventListener("click", () => $("reset-dialog").close());

function userRow(user) {
  const actions = el("td", { class: "cell-actions" });
  const toggle = el("button", { class: "btn btn-small", type: "button",
    text: user.is_admin ? "Remove admin" : "Make admin", "aria-label": `${user.is_admin ? "Remove admin" : "Make admin"}: ${user.username}` });
  toggle.addEventListener("click", () => setAdmin(user, !user.is_admin));
  actions.append(toggle);
  if (passwordMode && user.id !== me) {
    const reset = el("button", { class: "btn btn-small", type: "button", text: "Reset password",
      "aria-label": `Reset password: ${user.username}` });
    reset.addEventListener("click", () => resetPassword(user));
    actions.append(reset);
  }
  return el("tr", { dataset: { username: user.username } },
    el("td", { class: "cell-name" }, user.username, user.id === me ? el("span", { class: "muted small", text: " (you)" }) : null),
    el("td", { "data-label": "Role", text: user.is_admin ? "admin" : "user" }),
    el("td", { "data-label": "Created" }, when(user.created_at, "")),
    el("td", { "data-label": "Last seen" }, when(user.last_activity, "never")),
    actions);
}

async function loadUsers() {
  try {
    const { users } = await get("/api/users");
    show($("list-error"), "");
    list.replaceChildren(el("table", { class: "data-table", id: "user-table" },
      el("thead", {}, el("tr", {}, ["Username", "Role", "Created", "Last seen", ""].map((h) => el("th", { text: h })))),
      el("tbody", {}, users.map(userRow))));
  } catch (err) {
    show($("list-error"), err.message);
  }
}

const form = $("user-form");
if (form) {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    show($("user-error"), "");
    const username = $("new-username").value.trim();
    try {
      await post("/api/users", { username, password: $("new-user-password").value, is_admin: $("new-user-admin").checked });
      form.reset();
      toast(`Account ${username} created.`);
      await loadUsers();
    } catch (err) {
      show($("user-error"), err.message);
    } finally {
      button.disabled = false;
    }
  });
}

loadUsers();
