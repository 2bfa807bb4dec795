"""Every blueprint of the app, registered in one place."""
from __future__ import annotations

from flask import Flask

from . import (
    account_pages,
    accounts,
    admin,
    auth_pages,
    blame,
    documents,
    export,
    files,
    openapi,
    pages,
    presets,
    reading,
    review,
    search,
    sections,
    sessions,
    sharing,
    system,
    tokens,
    tools,
    transfer,
    ws,
)


def register(app: Flask) -> None:
    for module in (system, openapi, accounts, admin, documents, sections, sharing, export, sessions, tools, pages,
                   auth_pages, presets, files, tokens, account_pages, search, transfer, blame, reading,
                   review):
        app.register_blueprint(module.bp)
    ws.init_app(app)
