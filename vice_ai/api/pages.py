"""The pages a browser opens: the documents list and a document's two-pane workspace (and the app's static files)."""
from __future__ import annotations

from flask import Blueprint, render_template
from flask.blueprints import BlueprintSetupState

from ..domain.resources import load_document
from ..errors import NotFound
from .declare import ErrorOut, ResponseArg, ResponseSpec, declare

bp = Blueprint("web", __name__)

# Every page answers these when nobody may see it yet (accounts.identity: the gate before every request).
SIGN_IN_FIRST = ResponseSpec(None, None, "Nobody is signed in: to /signin?next=<this page> (to /signup before the "
                                         "first account exists)")
NO_PROXY_USER = ResponseSpec("text/html", None, "Header sign-in: the reverse proxy sent no user")
PAGE_ANSWERS: dict[int, ResponseArg] = {200: "text/html", 302: SIGN_IN_FIRST, 403: NO_PROXY_USER}


@bp.get("/")
@declare(responses=PAGE_ANSWERS, tags=["pages"])
def index():
    """The documents page; the list itself comes from /api/documents."""
    return render_template("index.html")


@bp.get("/documents/<doc_id>")
@declare(responses={**PAGE_ANSWERS, 404: ResponseSpec(
    "text/html", None, "A page: this document does not exist or is not shared with the user")}, tags=["pages"])
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


STATIC_ANSWERS = {
    200: ResponseSpec("application/octet-stream", None, "The file (CSS or JavaScript of the pages), with its own type"),
    304: ResponseSpec(None, None, "Not modified since the copy the browser has"),
    404: ResponseSpec("application/json", ErrorOut, "No such file"),
}


@bp.record_once
def _declare_static(state: BlueprintSetupState) -> None:
    """Flask's own route for the app's static files (/static/<filename>), declared with the pages that use them."""
    app = state.app
    view = app.view_functions.get("static")
    if view is not None:
        app.view_functions["static"] = declare(
            responses=STATIC_ANSWERS, tags=["pages"],
            summary="A file the pages use (CSS, JavaScript); needs no account")(view)
