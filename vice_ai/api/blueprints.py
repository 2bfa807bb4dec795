"""Every blueprint of the app, registered in one place."""
from __future__ import annotations

from flask import Flask

from . import (
    accounts,
    admin,
    auth_pages,
    documents,
    export,
    openapi,
    pages,
    sections,
    sessions,
    sharing,
    system,
    tools,
    transfer,
    ws,
)


def register(app: Flask) -> None:
    for module in (system, openapi, accounts, admin, documents, sections, sharing, export, sessions, tools, pages,
                   auth_pages, transfer):
        app.register_blueprint(module.bp)
    ws.init_app(app)
