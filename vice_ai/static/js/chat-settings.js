// The Chat settings dialog: the open chat's system prompt, model, temperature and tools, saved with PATCH.
import { patch } from "./api.js";
import { toast } from "./ui.js";
import { SettingsFields } from "./settings-form.js";

export class ChatSettingsDialog {
  /** `pane`: the ChatPane (its open chat, model picker and access); `picker`: the PresetPicker (tool list, names). */
  constructor({ pane, button, picker, models }) {
    this.pane = pane;
    this.button = button;
    this.picker = picker;
    this.dialog = document.getElementById("chat-settings-dialog");
    this.form = document.getElementById("chat-settings-form");
    this.note = document.getElementById("chat-settings-preset");
    this.error = document.getElementById("chat-settings-error");
    this.saveBtn = document.getElementById("chat-settings-save");
    this.fields = new SettingsFields(document.getElementById("chat-settings-fields"),
      { models, tools: picker.tools, idPrefix: "chat-settings" });
    picker.onChange(() => this.fields.setTools(picker.tools));
    this.busy = false;
    button.addEventListener("click", () => this.open());
    document.getElementById("chat-settings-close").addEventListener("click", () => this.dialog.close());
    document.getElementById("chat-settings-cancel").addEventListener("click", () => this.dialog.close());
    this.form.addEventListener("submit", (ev) => { ev.preventDefault(); this.save(); });
    this.dialog.addEventListener("close", () => this.button.focus());
    this.sessionChanged();
  }

  /** The open chat changed (or none is open): the button works only with a chat. */
  sessionChanged() {
    this.button.disabled = !this.pane.session;
    if (!this.pane.session && this.dialog.open) this.dialog.close();
  }

  showError(message) {
    this.error.textContent = message;
    this.error.hidden = !message;
  }

  open() {
    const session = this.pane.session;
    if (!session) return;
    const config = session.config || {};
    this.fields.set(config);
    const writable = this.pane.canWriteChat;
    this.fields.setDisabled(!writable);
    this.saveBtn.hidden = !writable;
    const notes = [];
    if (config.preset_name) notes.push(`Started from the preset “${config.preset_name}”; changes here stay in this chat.`);
    if (!writable) notes.push("Read only: this chat is not yours to change.");
    this.note.textContent = notes.join(" ");
    this.note.hidden = !notes.length;
    this.showError("");
    if (!this.dialog.open) this.dialog.showModal();
    (writable ? this.fields.prompt : this.dialog.querySelector("#chat-settings-close")).focus();
  }

  async save() {
    const session = this.pane.session;
    if (!session || this.busy) return;
    let values;
    try {
      values = this.fields.get();
    } catch (err) {
      this.showError(err.message);
      return;
    }
    // A null clears a setting on the server (an empty temperature: the model's default); "Default" names the default.
    const config = { system_prompt: values.system_prompt, tools: values.tools, temperature: values.temperature };
    const model = values.model || this.pane.models.default;
    if (model) config.model = model;
    this.busy = true;
    this.showError("");
    try {
      const data = await patch(`/api/sessions/${session.id}`, { config });
      if (this.pane.session && this.pane.session.id === data.id) {
        this.pane.session.config = data.config;
        this.pane.modelSelect.value = data.config.model || this.pane.models.default;
      }
      this.dialog.close();
      toast("Chat settings saved: the next reply uses them.");
    } catch (err) {
      this.showError(`Could not save the settings: ${err.message}`);
    } finally {
      this.busy = false;
    }
  }
}
