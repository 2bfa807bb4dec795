"""Every blueprint of the app, registered in one place."""
from __future__ import annotations

from flask import Flask

from . import (
    account_pages,
    accounts,
    admin,
    auth_pages,
    documents,
    export,
    files,
    openapi,
    pages,
    presets,
    review,
    search,
    sections,
    sessions,
    sharing,
    system,
    tokens,
    tools,
    ws,
)


def register(app: Flask) -> None:
    for module in (system, openapi, accounts, admin, documents, sections, sharing, export, sessions, tools, pages,
                   auth_pages, presets, files, tokens, account_pages, search,
                   review):
        app.register_blueprint(module.bp)
    ws.init_app(app)
