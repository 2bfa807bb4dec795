// A word diff as the server computes it (ops {op: equal|insert|delete|replace, old, new}), shown inline:
// deleted words struck through, inserted ones underlined. Interactive, each change is a toggle (accept / reject).
import { el } from "./ui.js";

function snippet(text) {
  const flat = text.replace(/\s+/g, " ").trim();
  if (!flat) return text.includes("\n") ? "a line break" : "a space";
  return flat.length > 60 ? `“${flat.slice(0, 57)}…”` : `“${flat}”`;
}

/** How a change reads aloud: "replace “ask for” with “request”". */
export function describeChange(op) {
  if (op.op === "insert") return `insert ${snippet(op.new)}`;
  if (op.op === "delete") return `delete ${snippet(op.old)}`;
  return `replace ${snippet(op.old)} with ${snippet(op.new)}`;
}

/** The text with the accepted changes' new words and the rejected ones' old words. */
export function composeText(ops, accepted) {
  let index = 0;
  return ops.map((op) => {
    if (op.op === "equal") return op.old;
    const take = accepted[index];
    index += 1;
    return take ? op.new : op.old;
  }).join("");
}

/** A read-only inline diff (history: what a version changed). */
export function renderDiff(ops) {
  const box = el("div", { class: "diff-view" });
  for (const op of ops) {
    if (op.op === "equal") { box.append(op.old); continue; }
    if (op.old) box.append(el("del", { class: "diff-del", text: op.old }));
    if (op.new) box.append(el("ins", { class: "diff-ins", text: op.new }));
  }
  if (!ops.some((op) => op.op !== "equal")) box.append(el("span", { class: "muted small diff-none", text: " (no changes)" }));
  return box;
}

/**
 * An inline diff whose changes the user accepts or rejects, each with a click, Enter or Space.
 * `onChange(accepted)` runs after every toggle. Returns {node, accepted, setAll(on), setEnabled(on)}.
 */
export function interactiveDiff(ops, onChange) {
  const changes = ops.filter((op) => op.op !== "equal");
  const accepted = changes.map(() => true);
  const toggles = [];
  const box = el("div", { class: "diff-view is-interactive" });
  let enabled = true;
  const show = (i) => {
    const node = toggles[i];
    node.classList.toggle("is-accepted", accepted[i]);
    node.classList.toggle("is-rejected", !accepted[i]);
    node.setAttribute("aria-pressed", String(accepted[i]));
    node.setAttribute("aria-label", `Change ${i + 1} of ${changes.length}: ${describeChange(changes[i])} (${accepted[i] ? "accepted" : "rejected"})`);
    node.title = accepted[i] ? "Accepted: click to reject this change" : "Rejected: click to accept this change";
  };
  const flip = (i) => {
    if (!enabled) return;
    accepted[i] = !accepted[i];
    show(i);
    onChange(accepted);
  };
  let index = 0;
  for (const op of ops) {
    if (op.op === "equal") { box.append(op.old); continue; }
    const i = index;
    index += 1;
    const node = el("span", { class: `diff-change diff-${op.op}`, role: "button", tabindex: "0", dataset: { index: String(i) } },
      op.old ? el("del", { class: "diff-del", text: op.old }) : "",
      op.new ? el("ins", { class: "diff-ins", text: op.new }) : "");
    node.addEventListener("click", () => flip(i));
    node.addEventListener("keydown", (ev) => {
      if (ev.key === "Enter" || ev.key === " ") { ev.preventDefault(); flip(i); }
    });
    toggles.push(node);
    box.append(node);
    show(i);
  }
  if (!changes.length) box.append(el("span", { class: "muted small diff-none", text: " (no changes)" }));
  return {
    node: box,
    accepted,
    count: changes.length,
    setAll(on) {
      if (!enabled) return;
      accepted.fill(on);
      toggles.forEach((_, i) => show(i));
      onChange(accepted);
    },
    setEnabled(on) {
      enabled = on;
      box.classList.toggle("is-frozen", !on);
      for (const node of toggles) {
        node.setAttribute("aria-disabled", String(!on));
        node.tabIndex = on ? 0 : -1;
      }
    },
  };
}
