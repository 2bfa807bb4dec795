// The review of a change before it is saved: a word diff whose changes the user accepts or rejects one by one
// (or all), an editable result, Save / Cancel. Any feature that proposes a new text reuses it through openReview.
import { post } from "./api.js";
import { el } from "./ui.js";
import { composeText, interactiveDiff } from "./diff-view.js";

let open = null; // one review at a time

/**
 * Open a review of `newText` against `oldText`; resolves with what `onSave(text)` answered, or null (cancelled).
 *
 * {title, subtitle?, oldText, newText, ops? (the server's word diff; asked of /api/diff when absent),
 *  saveLabel?, onSave(text) -> Promise (a rejection with a message keeps the review open and shows it)}
 */
export async function openReview({ title, subtitle = "", oldText, newText, ops = null, saveLabel = "Save", onSave }) {
  if (open) open.close();
  const diff = ops || (await post("/api/diff", { old: oldText, new: newText })).ops;
  return new Promise((resolve) => { open = new Review({ title, subtitle, oldText, ops: diff, saveLabel, onSave, resolve }); });
}

class Review {
  constructor({ title, subtitle, oldText, ops, saveLabel, onSave, resolve }) {
    this.oldText = oldText;
    this.ops = ops;
    this.onSave = onSave;
    this.resolve = resolve;
    this.result = null;
    this.edited = false;
    // Where the keyboard was: it goes back there when the review closes (if nothing else took it).
    this.opener = document.activeElement;
    this.diff = interactiveDiff(ops, () => this.sync());
    this.count = el("span", { class: "review-count small", role: "status", "aria-live": "polite" });
    this.acceptAll = el("button", { class: "btn btn-small", type: "button", text: "Accept all", onclick: () => this.diff.setAll(true) });
    this.rejectAll = el("button", { class: "btn btn-small", type: "button", text: "Reject all", onclick: () => this.diff.setAll(false) });
    this.text = el("textarea", { class: "review-result", id: "review-result", rows: 6, spellcheck: "true" });
    this.text.addEventListener("input", () => this.handEdited());
    this.reset = el("button", { class: "btn btn-small btn-link", type: "button", text: "Use the choices again", onclick: () => this.useChoices() });
    this.note = el("p", { class: "review-note small", hidden: true },
      el("span", { text: "You edited the result by hand, so the choices above no longer change it. " }), this.reset);
    this.error = el("p", { class: "review-error small", role: "alert", hidden: true });
    this.saveBtn = el("button", { class: "btn btn-primary", type: "button", text: saveLabel, onclick: () => this.save() });
    this.cancelBtn = el("button", { class: "btn", type: "button", text: "Cancel", onclick: () => this.close() });
    this.node = el("dialog", { class: "review-dialog", "aria-labelledby": "review-title" },
      el("div", { class: "review-head" },
        el("h2", { id: "review-title", text: title }),
        subtitle ? el("p", { class: "review-sub muted small", text: subtitle }) : ""),
      el("div", { class: "review-bar" }, this.count, el("span", { class: "review-bar-buttons" }, this.acceptAll, this.rejectAll)),
      el("p", { class: "review-help muted small", text: "Click a change (or Tab to it and press Space) to accept or reject it. Struck-through words go, underlined words come in." }),
      el("div", { class: "review-diff", "aria-label": "Changes" }, this.diff.node),
      el("label", { class: "review-label small", for: "review-result", text: "Result — you can edit it before saving" }),
      this.text, this.note, this.error,
      el("div", { class: "review-actions" }, this.cancelBtn, this.saveBtn));
    this.node.addEventListener("cancel", (ev) => { ev.preventDefault(); this.close(); });
    this.node.addEventListener("close", () => this.finish());
    document.body.append(this.node);
    this.sync();
    this.node.showModal();
    const first = this.diff.node.querySelector(".diff-change");
    (first || this.saveBtn).focus();
  }

  composed() {
    return composeText(this.ops, this.diff.accepted);
  }

  sync() {
    const taken = this.diff.accepted.filter(Boolean).length;
    const n = this.diff.count;
    this.count.textContent = n ? `${taken} of ${n} change${n === 1 ? "" : "s"} accepted` : "No changes";
    this.acceptAll.disabled = this.rejectAll.disabled = !n || this.edited;
    if (!this.edited) this.text.value = this.composed();
    this.refreshSave();
  }

  refreshSave() {
    const same = this.text.value === this.oldText;
    this.saveBtn.disabled = same || this.busy;
    this.saveBtn.title = same ? "Nothing would change: the result is the current text" : "";
  }

  handEdited() {
    if (!this.edited && this.text.value !== this.composed()) {
      this.edited = true;
      this.diff.setEnabled(false);
      this.note.hidden = false;
      this.acceptAll.disabled = this.rejectAll.disabled = true;
    }
    this.refreshSave();
  }

  useChoices() {
    this.edited = false;
    this.diff.setEnabled(true);
    this.note.hidden = true;
    this.sync();
    this.text.focus();
  }

  async save() {
    if (this.busy) return;
    this.busy = true;
    this.saveBtn.disabled = true;
    this.error.hidden = true;
    try {
      this.result = await this.onSave(this.text.value);
      this.close();
    } catch (err) {
      const moved = err && err.status === 409;
      this.error.textContent = moved
        ? `${err.message} Cancel and open the review again to see the section as it is now.`
        : `Not saved: ${err && err.message ? err.message : err}`;
      this.error.hidden = false;
    } finally {
      this.busy = false;
      if (this.node.open) this.refreshSave();
    }
  }

  close() {
    if (this.node.open) this.node.close();
    else this.finish();
  }

  finish() {
    if (this.done) return;
    this.done = true;
    this.node.remove();
    const lost = !document.activeElement || document.activeElement === document.body;
    if (lost && this.opener && this.opener.isConnected && this.opener !== document.body) this.opener.focus();
    if (open === this) open = null;
    this.resolve(this.result);
  }
}
