"""The HTTP and websocket layer: blueprints only.

A view parses its declared input, calls one service, shapes the answer.
"""
