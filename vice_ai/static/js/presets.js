// The preset picker beside "New chat": the preset a new chat starts from (built-in, yours, shared with this document).
import { get } from "./api.js";
import { el, toast } from "./ui.js";

const GROUPS = [["builtin", "Built-in"], ["own", "Yours"], ["shared", "Shared with this document"]];
const REMEMBER = "vice.preset";

export class PresetPicker {
  constructor({ documentId, select }) {
    this.documentId = documentId;
    this.select = select;
    this.presets = [];
    this.tools = [];
    this.listeners = [];
    this.select.addEventListener("change", () => {
      localStorage.setItem(REMEMBER, this.select.value);
      this.showTitle();
    });
  }

  /** Load the presets this user may start chats from here; returns them. */
  async load() {
    try {
      const data = await get(`/api/presets?document_id=${encodeURIComponent(this.documentId)}`);
      this.presets = data.presets;
      this.tools = data.tools;
    } catch (err) {
      toast(`Could not load the presets: ${err.message}`, { kind: "error" });
    }
    this.render();
    for (const listener of this.listeners) listener(this.presets);
    return this.presets;
  }

  /** Call `listener(presets)` after every load. */
  onChange(listener) { this.listeners.push(listener); }

  render() {
    const wanted = this.select.value || localStorage.getItem(REMEMBER) || "";
    const groups = GROUPS.map(([kind, label]) => {
      const items = this.presets.filter((p) => p.kind === kind);
      if (!items.length) return null;
      return el("optgroup", { label }, items.map((p) => el("option", {
        value: p.id, text: p.kind === "shared" && p.shared_by ? `${p.name} (${p.shared_by})` : p.name,
      })));
    });
    this.select.replaceChildren(el("option", { value: "", text: "No preset" }), ...groups.filter(Boolean));
    this.select.value = this.presets.some((p) => p.id === wanted) ? wanted : "";
    this.showTitle();
  }

  showTitle() {
    const preset = this.selected();
    this.select.title = preset
      ? `New chats start from “${preset.name}”: ${preset.system_prompt.slice(0, 200)}`
      : "New chats start with the default settings; pick a preset to start from one";
    this.select.classList.toggle("preset-chosen", Boolean(preset));
  }

  /** The preset picked for new chats, or null. */
  selected() {
    return this.presets.find((p) => p.id === this.select.value) || null;
  }

  byId(id) {
    return this.presets.find((p) => p.id === id) || null;
  }

  setHidden(hidden) {
    this.select.parentElement.hidden = hidden;
  }
}
