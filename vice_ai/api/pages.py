"""The pages a browser opens: the documents list and a document's two-pane workspace."""
from __future__ import annotations

from flask import Blueprint, render_template

from ..errors import NotFound
from ..domain.resources import load_document

bp = Blueprint("web", __name__)


@bp.get("/")
def index():
    """The documents page; the list itself comes from /api/documents."""
    return render_template("index.html")


@bp.get("/documents/<doc_id>")
def document_page(doc_id: str):
    """A document: its sections on the left, the chat of the selected section on the right."""
    try:
        doc = load_document(doc_id)
    except NotFound:
        # A person followed a stale link: answer with a page, not the API's JSON.
        # The same page for a document that is gone and one that is not shared with this user.
        return render_template("not_found.html",
                               message="Not found: this document does not exist or is not shared with you."), 404
    return render_template("document.html", document=doc)
