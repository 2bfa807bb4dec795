"""Files as context: text extracted from uploads (plain text, Markdown, PDF, DOCX), kept per chat and per document,
and the part of it that fits the model's token budget."""
