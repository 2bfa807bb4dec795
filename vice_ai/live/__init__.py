"""Live updates: the notification hub (numbered, buffered events per chat) and one websocket connection."""
