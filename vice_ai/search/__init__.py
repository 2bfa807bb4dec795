"""Full-text search: an SQLite FTS5 index under the data folder, derived from the JSON files and kept current."""
