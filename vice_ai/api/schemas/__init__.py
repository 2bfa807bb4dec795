"""Declared request and response bodies of the API (pydantic), one module per area.

`resources` holds the answer shapes they share; `websocket` the socket's commands and events.
"""
