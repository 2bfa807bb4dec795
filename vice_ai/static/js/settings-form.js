// The fields a chat's settings and a preset share: system prompt, model, temperature, tools.
// Used by the Chat settings dialog (chat-settings.js) and the preset editor (preset-manager.js).
import { el } from "./ui.js";

const MAX_PROMPT = 20000;

export class SettingsFields {
  /** Build the fields into `container`; `models` as /api/models answers, `tools` as /api/presets lists them. */
  constructor(container, { models, tools = [], idPrefix }) {
    this.container = container;
    this.models = models;
    this.idPrefix = idPrefix;
    this.prompt = el("textarea", { id: `${idPrefix}-prompt`, class: "settings-prompt", rows: 6, maxlength: MAX_PROMPT,
      placeholder: "Empty: the app's default instructions for a writing assistant" });
    this.model = el("select", { id: `${idPrefix}-model`, class: "settings-model" });
    this.temperature = el("input", { id: `${idPrefix}-temperature`, class: "settings-temperature", type: "number",
      min: 0, max: 2, step: 0.1, inputmode: "decimal", placeholder: "default" });
    this.toolBox = el("div", { class: "settings-tools" });
    this.toolInputs = new Map();
    this.shownTools = null; // the tools of the settings last shown (null: every tool)
    this.renderModels();
    this.setTools(tools);
    container.replaceChildren(
      el("label", { class: "settings-label", for: this.prompt.id, text: "System prompt" }), this.prompt,
      el("div", { class: "settings-row" },
        el("div", { class: "settings-cell" },
          el("label", { class: "settings-label", for: this.model.id, text: "Model" }), this.model),
        el("div", { class: "settings-cell settings-cell-narrow" },
          el("label", { class: "settings-label", for: this.temperature.id, text: "Temperature (0–2)" }), this.temperature)),
      el("fieldset", { class: "settings-fieldset" }, el("legend", { class: "settings-label", text: "Tools the model may use" }),
        this.toolBox),
    );
  }

  renderModels() {
    const { models = [], default: def, offline } = this.models || {};
    const label = offline ? "Default (offline assistant)" : `Default (${def || "the server's"})`;
    this.model.replaceChildren(el("option", { value: "", text: label }),
      ...models.map((name) => el("option", { value: name, text: name })));
  }

  /** The tool checkboxes: [{name, description}]. */
  setTools(tools) {
    const before = new Map([...this.toolInputs].map(([name, input]) => [name, input.checked]));
    this.toolInputs.clear();
    this.toolBox.replaceChildren(...tools.map((tool) => {
      const input = el("input", { type: "checkbox", value: tool.name, id: `${this.idPrefix}-tool-${tool.name}` });
      // Keep what was shown (or set) for a tool the list had; a new one follows the settings last set.
      input.checked = before.has(tool.name) ? before.get(tool.name)
        : this.shownTools === null || (this.shownTools || []).includes(tool.name);
      this.toolInputs.set(tool.name, input);
      return el("label", { class: "settings-tool", for: input.id, title: tool.description },
        input, el("span", { class: "settings-tool-name", text: tool.name.replaceAll("_", " ") }));
    }));
    if (!tools.length) this.toolBox.append(el("p", { class: "muted small", text: "No tools are available." }));
  }

  /** Show settings: {system_prompt, model, temperature, tools} (null tools: every tool). */
  set({ system_prompt: prompt = "", model = null, temperature = null, tools = null } = {}) {
    this.prompt.value = prompt || "";
    if (model && ![...this.model.options].some((o) => o.value === model)) {
      this.model.append(el("option", { value: model, text: `${model} (not offered now)` }));
    }
    this.model.value = model || "";
    this.temperature.value = temperature === null || temperature === undefined ? "" : String(temperature);
    this.shownTools = tools;
    for (const [name, input] of this.toolInputs) input.checked = tools === null || tools.includes(name);
  }

  /** The settings as typed, or throws an Error with a message to show. */
  get() {
    const raw = this.temperature.value.trim();
    const temperature = raw === "" ? null : Number(raw);
    if (temperature !== null && !(temperature >= 0 && temperature <= 2)) {
      this.temperature.focus();
      throw new Error("The temperature is a number from 0 to 2 (empty for the default).");
    }
    const tools = [...this.toolInputs].filter(([, input]) => input.checked).map(([name]) => name);
    return { system_prompt: this.prompt.value, model: this.model.value || null, temperature, tools };
  }

  setDisabled(disabled) {
    for (const node of [this.prompt, this.model, this.temperature, ...this.toolInputs.values()]) node.disabled = disabled;
  }
}
