// The document page: sections on the left, the selected section's chat on the right.
import { get } from "./api.js";
import { toast } from "./ui.js";
import { SectionsPane } from "./sections.js";
import { ChatPane } from "./chat.js";
import { ShareDialog } from "./share.js";
import { PresetPicker } from "./presets.js";
import { PresetManager } from "./preset-manager.js";
import { ChatSettingsDialog } from "./chat-settings.js";
import { DocumentFiles } from "./files.js";
import { MessageVersions } from "./message-versions.js";
import { sectionBlameChanged } from "./blame.js";
import { Reader } from "./reader.js";
import { SelectionAsk } from "./selection.js";
import { LiveDocument, documentGone } from "./live-document.js";
import { untilLoaded } from "./recovery.js";

const pane = document.getElementById("sections-pane");
const documentId = pane.dataset.documentId;
const connState = document.getElementById("conn-state");
const docTitle = document.getElementById("doc-title");
const readonlyBadge = document.getElementById("readonly-badge");
const shareButton = document.getElementById("share-btn");
let authMode = "local";
let shareDialog = null;
let docLevel = null;
let chatSettings = null;
let presetPicker = null;
let madeVersions = null; // the versions the open chat's messages made (message-versions.js)

const CONN_LABELS = { idle: "", connecting: "Connecting…", live: "Live", reconnecting: "Reconnecting…", closed: "" };

function showConnState(state) {
  connState.dataset.state = state;
  connState.textContent = CONN_LABELS[state] || "";
  connState.hidden = !CONN_LABELS[state];
}

// The selected section and chat live in the URL hash, so a reload comes back to them.
function readHash() {
  const params = new URLSearchParams(location.hash.slice(1));
  return { section: params.get("section"), chat: params.get("chat"), message: params.get("message") };
}

function writeHash(sectionId, chatId) {
  const params = new URLSearchParams();
  if (sectionId) params.set("section", sectionId);
  if (chatId) params.set("chat", chatId);
  history.replaceState(null, "", `${location.pathname}${location.search}#${params}`);
}

let chat = null;
let preferredChat = readHash().chat;
let preferredMessage = readHash().message;
const docFiles = new DocumentFiles({
  documentId, box: document.getElementById("doc-files"), list: document.getElementById("doc-files-list"),
  count: document.getElementById("doc-files-count"), addButton: document.getElementById("doc-files-add"),
  input: document.getElementById("doc-files-input"), onChange: () => chat && chat.files.refresh(),
});

const sections = new SectionsPane({
  documentId,
  list: document.getElementById("section-list"),
  countLabel: document.getElementById("section-count"),
  addEndButton: document.getElementById("add-section-end"),
  onSelect: (section) => {
    const wanted = preferredChat;
    preferredChat = null;
    if (wanted && preferredMessage) chat.wantMessage(wanted, preferredMessage); // a search result (chat-found.js)
    preferredMessage = null;
    writeHash(section && section.id, null);
    chat.setSection(section, wanted);
  },
  onChange: (section) => { chat.sectionChanged(section); sectionBlameChanged(section.id); reader.changed(); },
});
const reader = new Reader({
  documentId, button: document.getElementById("read-toggle"), box: document.getElementById("reader"),
  editing: [document.getElementById("section-list"), document.getElementById("doc-files"),
    document.getElementById("add-section-end")],
  onEdit: (id) => { sections.select(id); const card = sections.cards.get(id); if (card) card.node.focus(); },
});

async function refreshDocument() {
  try {
    const doc = await get(`/api/documents/${documentId}`);
    showDocument(doc); // access first, so no card is ever shown editable to a reader
    sections.setSections(doc.sections);
    return doc;
  } catch (err) {
    if (err.status === 404) documentGone();
    else toast(`Could not load the document: ${err.message}`, { kind: "error" });
    return null;
  }
}

/** The document's title and, when given, the caller's access (from its JSON, or a live event). */
function showDocument(doc) {
  if (typeof doc.title === "string") {
    docTitle.textContent = doc.title;
    document.title = `${doc.title} · VICE AI`;
  }
  if (doc.access) showAccess(doc.access);
}

/** What the caller may do here: edit controls, the read-only badge, and (for the owner) Share. */
function showAccess(level) {
  docLevel = level;
  if (presetPicker) presetPicker.setHidden(level === "read"); // readers start no chats
  sections.setEditable(level !== "read");
  chat.setDocAccess(level);
  docFiles.setAccess(level);
  // One user in local mode: no sharing, nothing shared with anyone.
  const accounts = authMode !== "local";
  shareButton.hidden = !(accounts && level === "owner");
  if (!shareButton.hidden && !shareDialog) {
    shareDialog = new ShareDialog({ documentId, button: shareButton, title: () => docTitle.textContent });
  }
  readonlyBadge.hidden = level !== "read";
  if (level === "read") showOwner();
}

async function showOwner() {
  readonlyBadge.textContent = "Read only";
  try {
    const view = await get(`/api/documents/${documentId}/shares`);
    if (view.owner) readonlyBadge.textContent = `Read only — shared by ${view.owner}`;
  } catch (err) {
    // The badge still says "Read only"; who shared it is a detail.
  }
}

function onNotification(event) {
  if (event.kind === "reply_finished" && event.section_id) sections.markNew(event.section_id);
  const elsewhere = event.section_id && event.section_id !== sections.selectedId;
  const target = event.section_id;
  // A background check speaks in its own words: say which section it watches.
  const about = event.kind === "stream" && sections.get(target) ? `“${sections.get(target).title || "Untitled section"}”: ` : "";
  toast(about + (event.text || "Something happened in this document."), {
    action: elsewhere && sections.get(target) ? { label: "Open", run: () => sections.select(target) } : null,
    key: event.kind === "retrying" ? "retrying" : null, // each wait replaces the last; the chat ends it (chat-messages.js)
  });
}

/** The preset picker for new chats, the Presets dialog and the Chat settings dialog. */
function setUpPresets(models) {
  presetPicker = new PresetPicker({ documentId, select: document.getElementById("preset-select") });
  chat.presetFor = () => presetPicker.selected();
  chatSettings = new ChatSettingsDialog({ pane: chat, button: document.getElementById("chat-settings-btn"),
    picker: presetPicker, models });
  new PresetManager({ documentId, button: document.getElementById("manage-presets"), picker: presetPicker, models,
    canShare: () => authMode !== "local" && docLevel === "owner" });
  presetPicker.load();
}

/** "Ask about this" / "Rewrite this" on text selected in a section (selection.js). */
function setUpSelection() {
  new SelectionAsk({
    list: document.getElementById("section-list"),
    sectionOf: (id) => sections.get(id),
    flush: async (id) => {
      const card = sections.cards.get(id);
      if (!card) return null;
      card.saveSoon.cancel();
      await card.save();
      return card.isDirty() ? null : card.section;
    },
    canAsk: () => chat.canEditDoc && (!chat.session || chat.chatAccess !== "read"),
    onAsk: (ref, intent) => {
      if (sections.selectedId !== ref.section_id) sections.select(ref.section_id);
      chat.askAbout(ref, intent);
    },
  });
}

// A search result on this document changes only the hash (search.js): select its section and chat.
window.addEventListener("hashchange", () => {
  const { section, chat: chatId, message } = readHash();
  if (!section || !sections.get(section)) return;
  if (section !== sections.selectedId) {
    preferredChat = chatId;
    preferredMessage = message;
    sections.select(section);
    return;
  }
  if (chatId && message) chat.wantMessage(chatId, message); // on its own branch, when the chat shows another
  if (chatId && (!chat.session || chat.session.id !== chatId)) chat.showSession(chatId);
});

async function main() {
  try {
    authMode = (await get("/api/me")).auth || "local";
  } catch (err) {
    authMode = "local"; // without it, offer no sharing rather than a button that fails
  }
  let models;
  try {
    models = await get("/api/models");
  } catch (err) {
    models = { default: "", offline: true, models: [] };
    toast(`Could not load the model list: ${err.message}`, { kind: "error" });
  }
  chat = new ChatPane({
    documentId,
    models,
    onSectionUpdate: (section) => { sections.replace(section); if (madeVersions) madeVersions.sectionChanged(); },
    // Its own section's notices; the others come over the document's socket (live-document.js).
    onNotification: (event) => { if (!event.section_id || event.section_id === sections.selectedId) onNotification(event); },
    onConnState: showConnState,
    onSessionChange: (sectionId, chatId) => {
      writeHash(sectionId, chatId);
      if (madeVersions) madeVersions.load(chatId);
      if (chatSettings) chatSettings.sessionChanged();
    },
    onServerRestart: () => {
      refreshDocument();
      toast("Reconnected to the server; everything is up to date.");
    },
  });
  madeVersions = chat.madeVersions = new MessageVersions(chat);
  setUpPresets(models);
  setUpSelection();
  showConnState("idle");
  const doc = await untilLoaded(refreshDocument); // the server may be away: the page loads when it is back
  if (!doc) return;
  new LiveDocument({ documentId, sections, chat, reload: refreshDocument, showDocument, onNotification }).start();
  docFiles.refresh();
  const wanted = readHash().section;
  const first = doc.sections.find((s) => s.id === wanted) || doc.sections[0];
  if (first) sections.select(first.id);
}

main();
