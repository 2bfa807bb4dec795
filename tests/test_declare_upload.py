"""Multipart uploads declared with `@declare(upload=Upload(...))`: the file arrives read, every mistake is a clear
400 or 413 in the one error shape, and the OpenAPI document describes the form."""
from __future__ import annotations

import io
from typing import Any

import pytest
from flask import Blueprint, Flask, jsonify
from openapi_spec_validator import validate as validate_spec
from pydantic import Field

from vice_ai.api import errors, openapi
from vice_ai.api.declare import Schema, Upload, UploadedFile, declare


class NoteForm(Schema):
    note: str = Field("", max_length=20)
    pages: int | None = Field(None, ge=1)


def _upload_app(limit: int = 100) -> Flask:
    app = Flask(__name__)
    app.config.update(TESTING=True, MAX_CONTENT_LENGTH=1000, MAX_UPLOAD_BYTES=limit)
    errors.init_app(app)
    bp = Blueprint("files", __name__, url_prefix="/api/files")

    @bp.post("")
    @declare(upload=Upload(form=NoteForm), responses={201: "application/json"})
    def upload(files: dict[str, UploadedFile], form: NoteForm) -> Any:
        """Upload a file"""
        got = files["file"]
        return jsonify(name=got.filename, type=got.content_type, size=len(got.data), note=form.note,
                       pages=form.pages), 201

    @bp.post("/bare")
    @declare(upload=Upload(files=("a", "b")), responses={201: "application/json"})
    def bare(files: dict[str, UploadedFile]) -> Any:
        """Two files, no form"""
        return jsonify(sizes=[len(files["a"].data), len(files["b"].data)]), 201

    app.register_blueprint(bp)
    return app


def _post(app: Flask, path: str = "/api/files", **data: Any) -> Any:
    return app.test_client().post(path, data=data, content_type="multipart/form-data")


def test_the_file_and_form_reach_the_view() -> None:
    app = _upload_app()
    answer = _post(app, file=(io.BytesIO(b"hello"), "notes.md", "text/markdown"), note="hi", pages="3")
    assert answer.status_code == 201
    assert answer.get_json() == {"name": "notes.md", "type": "text/markdown", "size": 5, "note": "hi", "pages": 3}


def test_a_file_at_the_limit_is_taken_one_byte_over_is_413() -> None:
    app = _upload_app(limit=100)
    assert _post(app, file=(io.BytesIO(b"x" * 100), "a.txt")).status_code == 201
    answer = _post(app, file=(io.BytesIO(b"x" * 101), "a.txt"))
    assert answer.status_code == 413
    assert answer.get_json()["error"]["code"] == "payload_too_large"
    assert answer.get_json()["error"]["limit"] == 100


def test_an_upload_route_takes_more_than_the_json_body_limit() -> None:
    # MAX_CONTENT_LENGTH is 1000 here; the file limit (5000) decides for the upload route.
    app = _upload_app(limit=5000)
    assert _post(app, file=(io.BytesIO(b"x" * 4000), "a.txt")).status_code == 201


def test_a_request_announcing_more_than_the_limit_is_refused_before_reading() -> None:
    app = _upload_app(limit=100)
    answer = app.test_client().post("/api/files", data=b"x" * 200_000, content_type="multipart/form-data; boundary=x")
    assert answer.status_code == 413
    assert "larger than the limit" in answer.get_json()["error"]["message"]


@pytest.mark.parametrize(("data", "status", "words"), [
    ({}, 400, "'file' is required."),
    ({"file": [(io.BytesIO(b"a"), "a.txt"), (io.BytesIO(b"b"), "b.txt")]}, 400, "'file' is given more than once."),
    ({"file": (io.BytesIO(b"a"), "a.txt"), "other": (io.BytesIO(b"b"), "b.txt")}, 400, "Unknown file field(s): other."),
    ({"file": (io.BytesIO(b"a"), "a.txt"), "note": "x" * 21}, 400, "'note' is longer than 20 characters."),
    ({"file": (io.BytesIO(b"a"), "a.txt"), "pages": "0"}, 400, "'pages' must be at least 1."),
    ({"file": (io.BytesIO(b"a"), "a.txt"), "colour": "red"}, 400, "Unknown field(s): colour."),
])
def test_mistakes_are_named(data: dict[str, Any], status: int, words: str) -> None:
    answer = _post(_upload_app(), **data)
    assert answer.status_code == status
    assert answer.get_json()["error"]["message"] == words


def test_json_instead_of_a_form_is_a_400() -> None:
    answer = _upload_app().test_client().post("/api/files", json={"file": "hello"})
    assert answer.status_code == 400
    assert "multipart/form-data" in answer.get_json()["error"]["message"]


def test_form_fields_on_a_route_without_a_form_are_refused() -> None:
    app = _upload_app()
    answer = _post(app, "/api/files/bare", a=(io.BytesIO(b"1"), "a"), b=(io.BytesIO(b"22"), "b"), note="x")
    assert answer.status_code == 400
    ok = _post(app, "/api/files/bare", a=(io.BytesIO(b"1"), "a"), b=(io.BytesIO(b"22"), "b"))
    assert ok.get_json() == {"sizes": [1, 2]}


def test_openapi_describes_the_multipart_body() -> None:
    app = _upload_app()
    doc = openapi.build_openapi(app, strict=True)
    validate_spec(doc)
    body = doc["paths"]["/api/files"]["post"]["requestBody"]
    schema = body["content"]["multipart/form-data"]["schema"]
    assert body["required"] is True
    assert schema["properties"]["file"] == {"type": "string", "format": "binary"}
    assert schema["properties"]["note"]["maxLength"] == 20
    assert schema["required"] == ["file"]
    bare = doc["paths"]["/api/files/bare"]["post"]["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert bare["required"] == ["a", "b"]
