"""Declared request and response bodies of the API (pydantic), one module per area; `resources` holds the shapes they share."""
