"""Notification streams: background workers that keep watching a goal and notify the user."""
