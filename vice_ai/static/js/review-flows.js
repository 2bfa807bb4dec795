// Where the page opens a review: applying a reply, accepting a proposed edit, reverting to an old version;
// and the history's "Show changes" (what a version changed against the one before).
import { get, post } from "./api.js";
import { el } from "./ui.js";
import { openReview } from "./review.js";
import { renderDiff } from "./diff-view.js";

function sectionName(section) {
  return section && section.title ? `“${section.title}”` : "the section";
}

/** Review what applying a reply (replace or append) makes of the section; resolves with the apply answer or null. */
export async function reviewReply(chat, messageId, mode) {
  const sessionId = chat.session.id;
  const review = await post(`/api/sessions/${sessionId}/review`, { message_id: messageId, mode });
  return openReview({
    title: { replace: "Review: replace the section text with the reply", passage: "Review: replace the passage with the reply" }[mode] || "Review: append the reply",
    subtitle: `Into ${sectionName(chat.section)}, as it is at version ${review.version}. Saved as one new version linked to the reply.`,
    oldText: review.old, newText: review.new, ops: review.ops,
    onSave: (content) => post(`/api/sessions/${sessionId}/apply`, { message_id: messageId, mode, content, version: review.version }),
  });
}

/** Review a proposed edit before accepting it; resolves with the accept answer or null. */
export async function reviewSuggestion(chat, sessionId, suggestion) {
  const review = await post(`/api/sessions/${sessionId}/review`, { suggestion_id: suggestion.id });
  return openReview({
    title: "Review the proposed edit",
    subtitle: `${suggestion.summary || "A new text"} — against ${sectionName(chat.section)} at version ${review.version}.`,
    oldText: review.old, newText: review.new, ops: review.ops,
    onSave: (content) => post(`/api/sessions/${sessionId}/suggestions/${suggestion.id}/accept`, { content, version: review.version }),
  });
}

/** Review a revert to `version` (against the section as it is now); resolves with the revert answer or null. */
export async function reviewRevert(documentId, section, version) {
  const url = `/api/documents/${documentId}/sections/${section.id}`;
  const diff = await get(`${url}/versions/${version}/diff?against=${section.version}`);
  return openReview({
    title: `Review: revert to version ${version}`,
    subtitle: `${sectionName(section)} is at version ${section.version}; reverting saves a new version.`,
    oldText: diff.old, newText: diff.new, ops: diff.ops, saveLabel: "Save the revert",
    onSave: (content) => post(`${url}/versions/${version}/revert`, { content, version: section.version }),
  });
}

/** A history row's "Show changes": the words a version changed against the one before, shown under the row. */
export function changesButton(url, version) {
  const button = el("button", { class: "btn btn-small btn-ghost", type: "button", text: "Show changes", "aria-expanded": "false" });
  let box = null;
  button.addEventListener("click", async () => {
    if (box) {
      box.remove();
      box = null;
      button.setAttribute("aria-expanded", "false");
      button.textContent = "Show changes";
      return;
    }
    box = el("div", { class: "history-diff", role: "region", "aria-label": `Changes in version ${version}` });
    button.closest(".history-item").append(box);
    button.setAttribute("aria-expanded", "true");
    button.textContent = "Hide changes";
    try {
      const diff = await get(`${url}/versions/${version}/diff`);
      const what = diff.against ? `Changes from version ${diff.against} to ${version}` : `Version ${version}: the first text`;
      box.replaceChildren(el("p", { class: "muted small history-diff-head", text: `${what} (${diff.changes} change${diff.changes === 1 ? "" : "s"})` }),
        renderDiff(diff.ops));
    } catch (err) {
      box.replaceChildren(el("p", { class: "inline-error", text: err.message }));
    }
  });
  return button;
}
