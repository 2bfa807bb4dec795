// A Copy button on every code block of rendered Markdown (replies, section previews, the reader).
import { el, copyText } from "./ui.js";

export function addCopyButtons(container) {
  for (const pre of container.querySelectorAll("pre")) {
    if (pre.parentElement && pre.parentElement.classList.contains("code-block")) continue;
    const button = el("button", { class: "code-copy btn btn-small", type: "button", text: "Copy", "aria-label": "Copy the code" });
    button.addEventListener("click", async (ev) => {
      ev.stopPropagation();
      const ok = await copyText(pre.textContent);
      button.textContent = ok ? "Copied" : "Copy failed";
      setTimeout(() => { button.textContent = "Copy"; }, 1500);
    });
    const box = el("div", { class: "code-block" });
    pre.replaceWith(box);
    box.append(pre, button);
  }
}
