"""Chat replies: the engine (a worker thread per reply), the context it sends, the tool-call loop, rendering."""
