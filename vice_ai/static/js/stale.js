// What a reply says about the section: is its note stale, and what became of its apply (by content, not just number).

/** True when the section's text now is the text the reply was written for (same hash), whatever its version. */
export function seesCurrentText(message, section) {
  const seen = message.receipt && message.receipt.section_hash;
  return Boolean(seen && section && section.content_hash === seen);
}

/**
 * What became of a reply applied here ({version, previousContent, undone}): "applied" (the section is that
 * version), "undone" (undone here, or the section's text is back to what it replaced) or "changed" (edited since).
 */
export function appliedState(applied, section) {
  if (applied.undone) return "undone";
  if (!section || section.version === applied.version) return "applied";
  if (section.content === applied.previousContent) return "undone";
  return "changed";
}
