"""The title of an imported document: a heading that opens the file names it (Markdown `# Title`, DOCX "Title")."""
from __future__ import annotations

import io

import docx
import pytest


def upload(client, data: bytes, name: str = "notes.md", **form: str):
    return client.post("/api/documents/import", data={"file": (io.BytesIO(data), name), **form},
                       content_type="multipart/form-data")


def outline(doc: dict) -> list[tuple[str, str, int, str]]:
    return [(s["type"], s["title"], s["level"], s["content"]) for s in doc["sections"]]


NOTES = b"""
# Trip   notes

Three days in the hills.

## Day one
We walked.

### Morning
Rain.

## Day two
Sun.
"""
# The title is the document's, not a section; the headings under it move up a level.
NOTES_OUTLINE = [
    ("text", "", 1, "Three days in the hills."),
    ("header", "Day one", 1, ""),
    ("text", "", 1, "We walked."),
    ("header", "Morning", 2, ""),
    ("text", "", 2, "Rain."),
    ("header", "Day two", 1, ""),
    ("text", "", 1, "Sun."),
]


def test_a_leading_level_one_heading_names_the_document_and_survives_a_restart(make_app):
    client = make_app().test_client()
    resp = upload(client, NOTES)
    assert resp.status_code == 201, resp.get_json()
    doc = resp.get_json()
    assert doc["title"] == "Trip notes" and doc["imported_from"] == "markdown"
    assert outline(doc) == NOTES_OUTLINE
    again = make_app().test_client()
    stored = again.get(f"/api/documents/{doc['id']}").get_json()
    assert stored["title"] == "Trip notes" and outline(stored) == NOTES_OUTLINE
    listed = again.get("/api/documents").get_json()["documents"]
    assert [d["title"] for d in listed] == ["Trip notes"]


@pytest.mark.parametrize(("text", "name", "title", "sections"), [
    # A setext level-1 heading is the same heading; a title alone makes an empty document.
    (b"Plan\n====\nsome text\n", "plan.md", "Plan", [("text", "", 1, "some text")]),
    (b"\xef\xbb\xbf# Only a title\n", "x.md", "Only a title", []),
    # Other level-1 headings: the first still names the document and stays a section, as they all are.
    (b"# Intro\nA\n# Methods\nB\n", "paper.md", "Intro",
     [("header", "Intro", 1, ""), ("text", "", 1, "A"), ("header", "Methods", 1, ""), ("text", "", 1, "B")]),
    # No heading first, or not a level-1 one, or an empty one: the file's name, the outline as it is.
    (b"Hello.\n\n# Title\n", "notes.md", "notes", [("text", "", 1, "Hello."), ("header", "Title", 1, "")]),
    (b"## Part\ntext\n", "notes.md", "notes", [("header", "Part", 2, ""), ("text", "", 2, "text")]),
    (b"#\ntext\n", "notes.md", "notes", [("header", "", 1, ""), ("text", "", 1, "text")]),
    (b"just words\n", "letter.txt", "letter", [("text", "", 1, "just words")]),
    (b"```\n# code\n```\n", "code.md", "code", [("text", "", 1, "```\n# code\n```")]),
])
def test_which_files_a_heading_names(client, text, name, title, sections):
    resp = upload(client, text, name)
    assert resp.status_code == 201, resp.get_json()
    assert resp.get_json()["title"] == title and outline(resp.get_json()) == sections


def test_a_title_given_with_the_file_keeps_its_heading_a_section(client):
    doc = upload(client, b"# Trip notes\n## Day one\nWe walked.\n", title="Hills").get_json()
    assert doc["title"] == "Hills"
    assert outline(doc) == [("header", "Trip notes", 1, ""), ("header", "Day one", 2, ""),
                            ("text", "", 2, "We walked.")]


def test_a_title_heading_keeps_the_limit_of_a_heading(make_app):
    client = make_app(MAX_TITLE_CHARS=30).test_client()
    resp = upload(client, ("# " + "x" * 31 + "\ntext\n").encode())
    assert resp.status_code == 400 and "is longer than 30 characters" in resp.get_json()["error"]["message"]
    assert client.get("/api/documents").get_json()["documents"] == []


def test_the_markdown_export_imports_back_with_its_title_and_levels(client):
    sections = [{"title": "Aims", "type": "header", "level": 1},
                {"title": "", "content": "We ask.", "level": 1},
                {"title": "Budget", "type": "header", "level": 2},
                {"title": "", "content": "Two years.", "level": 2}]
    made = client.post("/api/documents", json={"title": "Grant", "sections": sections}).get_json()
    text = client.get(f"/api/documents/{made['id']}/export").data
    imported = upload(client, text, "grant.md").get_json()
    assert imported["title"] == "Grant" and outline(imported) == outline(made)


def word(title_property: str, *paragraphs: tuple[str, str]) -> bytes:
    out = docx.Document()
    out.core_properties.title = title_property
    for text, style in paragraphs:
        out.add_paragraph(text, style=style)
    buffer = io.BytesIO()
    out.save(buffer)
    return buffer.getvalue()


@pytest.mark.parametrize(("prop", "title", "sections"), [
    # No title property: the Title paragraph names the document and is no section.
    ("", "Annual review", [("text", "", 1, "Written in March."), ("header", "Goals", 1, "")]),
    # The property says the same: not one more section.
    ("Annual  review", "Annual review", [("text", "", 1, "Written in March."), ("header", "Goals", 1, "")]),
    # The property says something else: it names the document, the Title paragraph stays a section.
    ("Review 2026", "Review 2026",
     [("header", "Annual review", 1, ""), ("text", "", 1, "Written in March."), ("header", "Goals", 1, "")]),
])
def test_a_docx_title_paragraph_names_the_document_as_a_markdown_heading_does(client, prop, title, sections):
    data = word(prop, ("", "Normal"), ("Annual review", "Title"), ("Written in March.", "Normal"),
                ("Goals", "Heading 1"))
    doc = upload(client, data, "review.docx").get_json()
    assert doc["title"] == title and outline(doc) == sections


def test_a_docx_title_paragraph_after_text_is_a_section(client):
    data = word("", ("Draft.", "Normal"), ("Annual review", "Title"))
    doc = upload(client, data, "review.docx").get_json()
    assert doc["title"] == "review"
    assert outline(doc) == [("text", "", 1, "Draft."), ("header", "Annual review", 1, "")]
