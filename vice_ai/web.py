"""The pages a browser opens."""
from __future__ import annotations

from flask import Blueprint, render_template

from .services import load_document

bp = Blueprint("web", __name__)


@bp.get("/")
def index():
    return render_template("index.html")


@bp.get("/documents/<doc_id>")
def document_page(doc_id: str):
    doc = load_document(doc_id)
    return render_template("document.html", document=doc)
