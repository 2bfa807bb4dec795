// The Presets dialog: your presets (create, edit, delete, and for a document's owner: share with its readers),
// and the built-in and shared ones to copy from.
import { post, patch, del } from "./api.js";
import { el, toast, confirmAction } from "./ui.js";
import { SettingsFields } from "./settings-form.js";

const KIND_LABELS = { builtin: "Built-in", own: "Yours", shared: "Shared" };

export class PresetManager {
  /** `picker`: the PresetPicker (its list is reloaded after every change); `canShare()`: may the user share here. */
  constructor({ documentId, button, picker, models, canShare }) {
    this.documentId = documentId;
    this.button = button;
    this.picker = picker;
    this.canShare = canShare;
    this.editing = null; // the own preset being edited, or null for a new one
    this.busy = false;
    this.dialog = document.getElementById("presets-dialog");
    this.list = document.getElementById("presets-list");
    this.form = document.getElementById("preset-form");
    this.heading = document.getElementById("preset-form-heading");
    this.name = document.getElementById("preset-name");
    this.share = document.getElementById("preset-share");
    this.shareRow = document.getElementById("preset-share-row");
    this.error = document.getElementById("preset-error");
    this.fields = new SettingsFields(document.getElementById("preset-fields"),
      { models, tools: picker.tools, idPrefix: "preset" });
    picker.onChange(() => { this.fields.setTools(picker.tools); if (this.dialog.open) this.renderList(); });
    button.addEventListener("click", () => this.open());
    document.getElementById("presets-close").addEventListener("click", () => this.dialog.close());
    document.getElementById("preset-new").addEventListener("click", () => this.edit(null));
    this.form.addEventListener("submit", (ev) => { ev.preventDefault(); this.save(); });
    this.dialog.addEventListener("close", () => this.button.focus());
  }

  async open() {
    this.showError("");
    this.edit(null);
    if (!this.dialog.open) this.dialog.showModal();
    this.name.focus();
    await this.picker.load();
  }

  showError(message) {
    this.error.textContent = message;
    this.error.hidden = !message;
  }

  renderList() {
    const order = { own: 0, shared: 1, builtin: 2 }; // yours first: they are the ones to manage here
    const presets = [...this.picker.presets].sort((a, b) => order[a.kind] - order[b.kind]);
    const rows = presets.map((preset) => {
      const actions = preset.editable
        ? [el("button", { class: "btn btn-small btn-ghost", type: "button", text: "Edit",
          "aria-label": `Edit ${preset.name}`, onclick: () => this.edit(preset) }),
        el("button", { class: "btn btn-small btn-ghost btn-danger-text", type: "button", text: "Delete",
          "aria-label": `Delete ${preset.name}`, onclick: () => this.remove(preset) })]
        : [el("button", { class: "btn btn-small btn-ghost", type: "button", text: "Copy",
          "aria-label": `Copy ${preset.name} into a new preset`, onclick: () => this.copy(preset) })];
      const shared = preset.kind === "own" && preset.shared_documents.includes(this.documentId);
      const tag = preset.kind === "shared" && preset.shared_by ? `Shared by ${preset.shared_by}` : KIND_LABELS[preset.kind];
      return el("li", { class: "preset-row", dataset: { presetId: preset.id, kind: preset.kind } },
        el("div", { class: "preset-info" },
          el("span", { class: "preset-name", text: preset.name }),
          el("span", { class: `preset-kind preset-kind-${preset.kind}`, text: tag }),
          shared ? el("span", { class: "preset-kind preset-kind-shared", text: "Shared here" }) : null,
          el("span", { class: "preset-prompt muted small", text: preset.system_prompt || "(default instructions)" })),
        el("div", { class: "preset-actions" }, actions));
    });
    this.list.replaceChildren(...rows);
  }

  /** Fill the form with one of your presets (or empty it for a new one). */
  edit(preset) {
    this.editing = preset;
    this.heading.textContent = preset ? `Edit “${preset.name}”` : "New preset";
    this.name.value = preset ? preset.name : "";
    this.fields.set(preset || {});
    this.share.checked = Boolean(preset && preset.shared_documents.includes(this.documentId));
    this.shareRow.hidden = !this.canShare();
    this.showError("");
    if (preset) this.name.focus();
  }

  /** Start a new preset from a built-in or shared one. */
  copy(preset) {
    this.edit(null);
    this.name.value = `${preset.name} (copy)`.slice(0, 100);
    this.fields.set(preset);
    this.name.focus();
  }

  body(values) {
    const body = { name: this.name.value.trim(), ...values };
    if (this.canShare()) {
      const others = (this.editing ? this.editing.shared_documents : []).filter((id) => id !== this.documentId);
      body.shared_documents = this.share.checked ? [...others, this.documentId] : others;
    }
    return body;
  }

  async save() {
    if (this.busy) return;
    if (!this.name.value.trim()) { this.showError("Give the preset a name."); this.name.focus(); return; }
    let values;
    try {
      values = this.fields.get();
    } catch (err) {
      this.showError(err.message);
      return;
    }
    const body = this.body(values);
    const editing = this.editing;
    if (!editing) for (const key of ["model", "temperature"]) if (body[key] === null) delete body[key];
    this.busy = true;
    this.showError("");
    try {
      const saved = editing ? await patch(`/api/presets/${editing.id}`, body) : await post("/api/presets", body);
      toast(editing ? `Preset “${saved.name}” saved.` : `Preset “${saved.name}” created.`);
      await this.picker.load();
      this.edit(null);
    } catch (err) {
      this.showError(`Could not save the preset: ${err.message}`);
    } finally {
      this.busy = false;
    }
  }

  async remove(preset) {
    const ok = await confirmAction(`Delete the preset “${preset.name}”? Chats started from it keep their settings.`);
    if (!ok) return;
    try {
      await del(`/api/presets/${preset.id}`);
      toast(`Preset “${preset.name}” deleted.`);
      if (this.editing && this.editing.id === preset.id) this.edit(null);
      await this.picker.load();
    } catch (err) {
      this.showError(`Could not delete the preset: ${err.message}`);
    }
  }
}
