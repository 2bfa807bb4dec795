// The owner's Share dialog: who has read or edit access to the document, add, change or remove.
import { get, api, del } from "./api.js";
import { el, toast } from "./ui.js";

const LEVELS = [["read", "Can read"], ["edit", "Can edit"]];

export class ShareDialog {
  constructor({ documentId, button, title }) {
    this.documentId = documentId;
    this.button = button;
    this.title = title;
    this.dialog = document.getElementById("share-dialog");
    this.list = document.getElementById("share-list");
    this.form = document.getElementById("share-form");
    this.username = document.getElementById("share-username");
    this.level = document.getElementById("share-access");
    this.error = document.getElementById("share-error");
    this.busy = false;
    button.addEventListener("click", () => this.open());
    document.getElementById("share-close").addEventListener("click", () => this.dialog.close());
    this.form.addEventListener("submit", (ev) => { ev.preventDefault(); this.add(); });
    this.dialog.addEventListener("close", () => this.button.focus());
  }

  url(username = "") {
    const base = `/api/documents/${this.documentId}/shares`;
    return username ? `${base}/${encodeURIComponent(username)}` : base;
  }

  async open() {
    document.getElementById("share-doc-title").textContent = this.title();
    this.showError("");
    this.list.replaceChildren(el("li", { class: "muted small", text: "Loading…" }));
    if (!this.dialog.open) this.dialog.showModal();
    this.username.focus();
    try {
      this.render(await get(this.url()));
    } catch (err) {
      this.list.replaceChildren();
      this.showError(`Could not load the shares: ${err.message}`);
    }
  }

  showError(message) {
    this.error.textContent = message;
    this.error.hidden = !message;
  }

  render(view) {
    const rows = view.shares.map((share) => {
      const select = el("select", { class: "share-level", "aria-label": `Access for ${share.username}` },
        LEVELS.map(([value, label]) => el("option", { value, text: label })));
      select.value = share.access;
      select.addEventListener("change", () => this.change(share.username, select.value));
      const remove = el("button", { class: "btn btn-small btn-ghost btn-danger-text", type: "button",
        "aria-label": `Remove ${share.username}`, text: "Remove", onclick: () => this.remove(share.username) });
      return el("li", { class: "share-row", dataset: { username: share.username } },
        el("span", { class: "share-name", text: share.username }), select, remove);
    });
    const owner = el("li", { class: "share-row share-owner" },
      el("span", { class: "share-name", text: view.owner || "You" }), el("span", { class: "muted small", text: "Owner" }));
    this.list.replaceChildren(owner, ...rows);
    if (!rows.length) this.list.append(el("li", { class: "muted small share-empty", text: "Not shared with anyone yet." }));
  }

  /** Run one change; the answer is the new list, a refusal shows in the dialog. */
  async run(call, done) {
    if (this.busy) return;
    this.busy = true;
    this.showError("");
    try {
      this.render(await call());
      if (done) done();
    } catch (err) {
      this.showError(err.message);
      // Show what is really shared (a changed select must not keep a level that was refused).
      get(this.url()).then((view) => this.render(view), () => {});
    } finally {
      this.busy = false;
    }
  }

  add() {
    const username = this.username.value.trim();
    if (!username) { this.showError("Type the username of the person to share with."); return; }
    const access = this.level.value;
    this.run(() => api("PUT", this.url(username), { access }), () => {
      this.username.value = "";
      toast(`Shared with ${username} (${access === "edit" ? "can edit" : "read only"}).`);
    });
  }

  change(username, access) {
    this.run(() => api("PUT", this.url(username), { access }));
  }

  remove(username) {
    this.run(() => del(this.url(username)), () => toast(`${username} no longer has access.`));
  }
}
