// Small DOM helpers shared by the pages. Text always goes in with textContent;
// only server-sanitised HTML (a message's `html`) is ever assigned to innerHTML.
import "./toast-place.js"; // where the toasts show: clear of the header, the search results and the chat's controls

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key.startsWith("on") && typeof value === "function") node.addEventListener(key.slice(2), value);
    else if (value === true) node.setAttribute(key, "");
    else node.setAttribute(key, String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** A notice at the corner; one with a `key` takes the place of the shown one with the same key (dismissToast ends it). */
export function toast(text, { kind = "info", action = null, timeout = 6000, key = null } = {}) {
  const box = document.getElementById("toasts");
  if (!box) return null;
  const item = el("div", { class: `toast toast-${kind}`, dataset: key ? { key } : {} }, el("span", { class: "toast-text", text }));
  if (action) {
    item.append(el("button", {
      class: "btn btn-small btn-link", type: "button", text: action.label,
      onclick: () => { action.run(); item.remove(); },
    }));
  }
  item.append(el("button", { class: "toast-close", type: "button", "aria-label": "Dismiss", text: "×", onclick: () => item.remove() }));
  const same = key ? [...box.children].find((t) => t.dataset.key === key) : null;
  if (same) same.replaceWith(item); else box.append(item);
  while (box.children.length > 4) box.firstElementChild.remove();
  if (timeout) setTimeout(() => item.remove(), timeout);
  return item;
}

export function dismissToast(key) {
  const box = document.getElementById("toasts");
  if (box) [...box.children].filter((t) => t.dataset.key === key).forEach((t) => t.remove());
}

// A confirmation in a native <dialog> (keyboard and focus handling come with it).
export function confirmAction(text, okLabel = "Delete") {
  const dialog = document.getElementById("confirm-dialog");
  dialog.querySelector(".confirm-text").textContent = text;
  dialog.querySelector(".confirm-ok").textContent = okLabel;
  dialog.returnValue = "";
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "ok"), { once: true });
    dialog.showModal();
    dialog.querySelector(".confirm-ok").focus();
  });
}

export function relativeTime(iso) {
  if (!iso) return "";
  const then = new Date(iso);
  const seconds = Math.round((Date.now() - then.getTime()) / 1000);
  if (seconds < 45) return "just now";
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return `${minutes} min ago`;
  const hours = Math.round(minutes / 60);
  if (hours < 24) return `${hours} h ago`;
  const days = Math.round(hours / 24);
  if (days < 7) return `${days} d ago`;
  return then.toLocaleDateString();
}

export function fullTime(iso) {
  return iso ? new Date(iso).toLocaleString() : "";
}

// Textareas grow with their content up to a CSS max-height, so nothing jumps while typing.
export function autoGrow(textarea) {
  const fit = () => {
    textarea.style.height = "auto";
    textarea.style.height = `${textarea.scrollHeight + 2}px`;
  };
  textarea.addEventListener("input", fit);
  requestAnimationFrame(fit);
  return fit;
}

export async function copyText(text) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch (exc) {
    // Clipboard API refused (permissions, http): fall back to a hidden selection.
    const area = el("textarea", { class: "visually-hidden" });
    area.value = text;
    document.body.append(area);
    area.select();
    const ok = document.execCommand("copy");
    area.remove();
    return ok;
  }
}

export function debounce(fn, ms) {
  let timer = null;
  const wrapped = (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => { timer = null; fn(...args); }, ms);
  };
  wrapped.cancel = () => { clearTimeout(timer); timer = null; };
  wrapped.pending = () => timer !== null;
  return wrapped;
}
