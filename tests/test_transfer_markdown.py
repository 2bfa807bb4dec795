"""Markdown import: headings found by markdown-it (ATX, setext), the text between them, code fences left alone."""
from __future__ import annotations

import io

import pytest
from conftest import make_document


def upload(client, data: bytes, name: str = "notes.md", **form: str):
    return client.post("/api/documents/import", data={"file": (io.BytesIO(data), name), **form},
                       content_type="multipart/form-data")


def outline(doc: dict) -> list[tuple[str, str, int, str]]:
    return [(s["type"], s["title"], s["level"], s["content"]) for s in doc["sections"]]


NOTES = """\ufeffSome words before any heading.

# One
Text of one.

## Two ##
```python
# a comment, not a heading
x = 1
```

    # indented code, not a heading

### Three
#### Four
##### Five
###### Six
####### Seven is not a heading

Setext one
==========

Under it.

Setext two
---
- # a heading inside a list stays text
> # and inside a quote

<div>
# inside HTML
</div>
"""


def test_markdown_headings_become_header_sections_at_their_levels(client):
    resp = upload(client, NOTES.encode("utf-8"), "field-notes.md")
    assert resp.status_code == 201, resp.get_json()
    doc = resp.get_json()
    assert doc["imported_from"] == "markdown" and doc["title"] == "field-notes" and doc["sessions"] == 0
    assert outline(doc) == [
        ("text", "", 1, "Some words before any heading."),
        ("header", "One", 1, ""),
        ("text", "", 1, "Text of one."),
        ("header", "Two", 2, ""),
        ("text", "", 2, "```python\n# a comment, not a heading\nx = 1\n```\n\n    # indented code, not a heading"),
        ("header", "Three", 3, ""),
        ("header", "Four", 4, ""),
        ("header", "Five", 5, ""),
        ("header", "Six", 6, ""),
        ("text", "", 6, "####### Seven is not a heading"),
        ("header", "Setext one", 1, ""),
        ("text", "", 1, "Under it."),
        ("header", "Setext two", 2, ""),
        ("text", "", 2, "- # a heading inside a list stays text\n> # and inside a quote\n\n<div>\n# inside HTML\n</div>"),
    ]
    stored = client.get(f"/api/documents/{doc['id']}").get_json()
    assert outline(stored) == outline(doc) and stored["owner"] == "local"
    # Each section starts its history as any new section does.
    first = doc["sections"][0]
    versions = client.get(f"/api/documents/{doc['id']}/sections/{first['id']}/versions").get_json()
    assert [v["version"] for v in versions["versions"]] == [1]


def test_windows_line_endings_and_a_title_field(client):
    resp = upload(client, b"# A\r\nline one\r\nline two\r\n", "a.markdown", title="  My   notes ")
    assert resp.status_code == 201
    assert resp.get_json()["title"] == "My notes"
    assert outline(resp.get_json()) == [("header", "A", 1, ""), ("text", "", 1, "line one\nline two")]


def test_the_markdown_export_imports_back_with_its_headings(client):
    doc = make_document(client, "Grant", [{"title": "Summary", "content": "We ask.", "level": 1},
                                          {"title": "Details", "content": "Two years.", "level": 2}])
    text = client.get(f"/api/documents/{doc['id']}/export").data
    imported = upload(client, text, "grant.md").get_json()
    # The export's "# Grant" is the title again; a titled text section comes back as a header and a text.
    assert imported["title"] == "Grant"
    assert outline(imported) == [("header", "Summary", 1, ""), ("text", "", 1, "We ask."),
                                 ("header", "Details", 2, ""), ("text", "", 2, "Two years.")]


def test_an_empty_file_makes_an_empty_document(client):
    resp = upload(client, b"", "empty.md")
    assert resp.status_code == 201 and resp.get_json()["sections"] == []


@pytest.mark.parametrize(("text", "config", "words"), [
    ("# " + "x" * 31, {"MAX_TITLE_CHARS": 30}, "is longer than 30 characters"),
    ("# A\n" + "y" * 41, {"MAX_SECTION_CHARS": 40}, "The text after the heading \u201cA\u201d is longer than 40"),
    ("z" * 41, {"MAX_SECTION_CHARS": 40}, "The text before the first heading is longer than 40"),
    ("# h\n" * 1001, {}, "would make 1001 sections; a document holds at most 1000"),
])
def test_limits_of_the_app_hold_for_imports(make_app, text, config, words):
    client = make_app(**config).test_client()
    resp = upload(client, text.encode("utf-8"))
    assert resp.status_code == 400
    assert words in resp.get_json()["error"]["message"]
    assert client.get("/api/documents").get_json()["documents"] == []


def test_upload_mistakes(make_app):
    client = make_app(MAX_UPLOAD_BYTES=100).test_client()
    too_big = upload(client, b"# x\n" * 30)
    assert too_big.status_code == 413 and too_big.get_json()["error"]["code"] == "payload_too_large"
    assert upload(client, b"# x\n", title="").status_code == 400
    missing = client.post("/api/documents/import", data={}, content_type="multipart/form-data")
    assert missing.status_code == 400 and missing.get_json()["error"]["message"] == "'file' is required."
    assert client.get("/api/documents").get_json()["documents"] == []


def test_the_import_survives_a_restart(make_app):
    client = make_app().test_client()
    doc = upload(client, b"# Kept\nafter a restart\n").get_json()
    again = make_app().test_client().get(f"/api/documents/{doc['id']}")
    assert again.status_code == 200 and outline(again.get_json()) == outline(doc)


def test_the_import_path_takes_only_post(client):
    # It also fits /api/documents/<doc_id>; that route's methods do not answer here.
    for method in ("GET", "PATCH", "DELETE"):
        resp = client.open("/api/documents/import", method=method)
        assert resp.status_code == 405 and resp.headers["Allow"] == "POST"
        assert resp.get_json()["error"]["code"] == "method_not_allowed"
    assert client.options("/api/documents/import").headers["Allow"] == "OPTIONS, POST"
