"""Live updates: the notification hub and the websocket endpoints."""
