// Plain-text helpers for tool calls: shortening, counts, and JSON arguments/results as readable lines.

const SHORT = 60;

export function parseJson(text) {
  if (typeof text !== "string") return text;
  try { return JSON.parse(text); } catch (exc) { return undefined; }
}

export function short(text, max = SHORT) {
  const flat = String(text ?? "").replace(/\s+/g, " ").trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

export function quote(text, max = SHORT) {
  return `“${short(text, max)}”`;
}

export function count(n, one, many) {
  return `${n} ${n === 1 ? one : many}`;
}

/** A JSON value as readable lines: keys and values, multi-line strings kept as they are. */
export function readable(value, indent = "") {
  if (value === null || value === undefined) return `${indent}(none)`;
  if (typeof value !== "object") {
    const text = String(value);
    return text.includes("\n") ? text.split("\n").map((line) => indent + line).join("\n") : indent + text;
  }
  const entries = Array.isArray(value) ? value.map((v, i) => [`${i + 1}.`, v]) : Object.entries(value);
  if (!entries.length) return `${indent}(none)`;
  return entries.map(([key, v]) => {
    const label = Array.isArray(value) ? key : `${key}:`;
    const simple = v === null || typeof v !== "object";
    if (simple && !String(v ?? "").includes("\n")) return `${indent}${label} ${v === null ? "(none)" : v}`;
    return `${indent}${label}\n${readable(v, `${indent}  `)}`;
  }).join("\n");
}

export function showText(raw) {
  const parsed = parseJson(raw);
  if (parsed === undefined) return raw || "(empty)";
  return readable(parsed);
}
