"""Upkeep the app does by itself: archiving inactive chats, usage statistics, redaction of secrets before storage."""
