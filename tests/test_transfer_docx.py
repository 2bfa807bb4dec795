"""DOCX: export read back with python-docx, and import of real Word files (headings, quotes, lists, tables)."""
from __future__ import annotations

import io
import os

import docx
import pytest
from conftest import make_document

DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def read_docx(data: bytes) -> list[tuple[str, str]]:
    """(style name, text) of every paragraph of a DOCX file."""
    return [(p.style.name, p.text) for p in docx.Document(io.BytesIO(data)).paragraphs]


def upload(client, data: bytes, name: str, **form: str):
    return client.post("/api/documents/import", data={"file": (io.BytesIO(data), name), **form},
                       content_type="multipart/form-data")


def outline(doc: dict) -> list[tuple[str, str, int, str]]:
    return [(s["type"], s["title"], s["level"], s["content"]) for s in doc["sections"]]


def test_docx_export_has_headings_at_their_levels_quotes_and_text(client):
    doc = make_document(client, "Field report: 2026", [
        {"title": "Introduction", "type": "header", "level": 1},
        {"title": "", "content": "Why we went.\n\nWhat we found.", "level": 1},
        {"title": "Methods", "content": "Forty interviews,\nthen coding.", "level": 2},
        {"title": "Sources", "content": "Smith 2021: writing with machines.", "type": "reference", "level": 3},
    ])
    client.patch(f"/api/documents/{doc['id']}", json={"description": "For the board"})
    resp = client.get(f"/api/documents/{doc['id']}/export?format=docx")
    assert resp.status_code == 200 and resp.mimetype == DOCX_TYPE
    assert 'filename="field-report-2026.docx"' in resp.headers["Content-Disposition"]
    assert read_docx(resp.data) == [
        ("Heading 1", "Introduction"),
        ("Normal", "Why we went."),
        ("Normal", "What we found."),
        ("Heading 2", "Methods"),
        ("Normal", "Forty interviews,\nthen coding."),
        ("Heading 3", "Sources"),
        ("Quote", "Smith 2021: writing with machines."),
    ]
    props = docx.Document(io.BytesIO(resp.data)).core_properties
    assert (props.title, props.comments) == ("Field report: 2026", "For the board")


def test_docx_export_then_import_gives_the_same_sections(client):
    sections = [
        {"title": "Plan", "type": "header", "level": 1},
        {"title": "", "content": "First we read.\n\nThen we write.", "level": 1},
        {"title": "Budget", "type": "header", "level": 2},
        {"title": "", "content": "40,000 euros.", "level": 2},
        {"title": "", "content": "\u201cMoney is time.\u201d", "type": "reference", "level": 2},
    ]
    doc = make_document(client, "Round trip", sections)
    data = client.get(f"/api/documents/{doc['id']}/export?format=docx").data
    resp = upload(client, data, "round-trip.docx")
    assert resp.status_code == 201, resp.get_json()
    imported = resp.get_json()
    assert imported["imported_from"] == "docx" and imported["title"] == "Round trip"
    assert imported["id"] != doc["id"] and outline(imported) == outline(doc)


def word_file() -> bytes:
    """A Word file as people write them: a Title, headings, lists, a table, a quote, empty paragraphs."""
    out = docx.Document()
    out.add_paragraph("Annual review", style="Title")
    out.add_paragraph("Written in March.")
    out.add_heading("Goals", level=1)
    out.add_paragraph("")
    out.add_paragraph("Grow the team.", style="List Bullet")
    out.add_paragraph("Ship the app.", style="List Bullet")
    out.add_paragraph("Then celebrate.")
    out.add_heading("Steps", level=2)
    out.add_paragraph("Plan", style="List Number")
    out.add_paragraph("Build", style="List Number")
    out.add_heading("Numbers", level=3)
    table = out.add_table(rows=2, cols=2)
    for (r, c), text in {(0, 0): "Year", (0, 1): "Sales", (1, 0): "2026", (1, 1): "12 | 13"}.items():
        table.cell(r, c).text = text
    out.add_heading("Deep", level=6)
    out.add_paragraph("Less is more.", style="Intense Quote")
    buffer = io.BytesIO()
    out.save(buffer)
    return buffer.getvalue()


def test_docx_import_reads_title_headings_lists_tables_and_quotes(client):
    resp = upload(client, word_file(), "review.docx")
    assert resp.status_code == 201, resp.get_json()
    doc = resp.get_json()
    assert doc["title"] == "Annual review"  # no title property: the Title paragraph, which is no section
    assert outline(doc) == [
        ("text", "", 1, "Written in March."),
        ("header", "Goals", 1, ""),
        ("text", "", 1, "- Grow the team.\n- Ship the app.\n\nThen celebrate."),
        ("header", "Steps", 2, ""),
        ("text", "", 2, "1. Plan\n2. Build"),
        ("header", "Numbers", 3, ""),
        ("text", "", 3, "| Year | Sales |\n| --- | --- |\n| 2026 | 12 \\| 13 |"),
        ("header", "Deep", 6, ""),
        ("reference", "", 6, "Less is more."),
    ]
    # The document is stored: it survives a restart and is listed.
    assert client.get(f"/api/documents/{doc['id']}").get_json()["section_count"] == 9


def test_a_title_given_with_the_file_wins(client):
    resp = upload(client, word_file(), "review.docx", title="Review 2026")
    assert resp.status_code == 201 and resp.get_json()["title"] == "Review 2026"


@pytest.mark.parametrize(("data", "name", "words"), [
    (b"PK\x03\x04 not really a zip", "broken.docx", "broken zip file"),
    (b"plain bytes", "letter.docx", "not a valid DOCX document"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 64, "old.doc", "old Word (.doc) file"),
    (os.urandom(16) + b"\xff\xfe\xfd", "noise.bin", "not a Markdown (UTF-8 text), DOCX or bundle file"),
])
def test_files_that_cannot_be_read_are_a_400_and_make_nothing(client, data, name, words):
    resp = upload(client, data, name)
    assert resp.status_code == 400, resp.get_json()
    assert words in resp.get_json()["error"]["message"] and resp.get_json()["error"]["field"] == "file"
    assert client.get("/api/documents").get_json()["documents"] == []


def test_a_zip_that_is_neither_docx_nor_bundle_is_a_400(client):
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("photo.txt", "hello")
    resp = upload(client, buffer.getvalue(), "photos.zip")
    assert resp.status_code == 400 and "neither a VICE AI bundle" in resp.get_json()["error"]["message"]


@pytest.mark.parametrize("damage", ["package", "xml"])
def test_a_docx_that_is_a_damaged_word_file_is_a_400(client, damage):
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(word_file())) as good, zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for info in good.infolist():
            if damage == "package" and info.filename == "[Content_Types].xml":
                continue  # no content types: not an Office package
            data = b"<w:document><not closed" if info.filename == "word/document.xml" and damage == "xml" else (
                good.read(info))
            archive.writestr(info.filename, data)
    resp = upload(client, buffer.getvalue(), "damaged.docx")
    assert resp.status_code == 400
    assert resp.get_json()["error"]["message"] == (
        "damaged.docx is not a DOCX document that can be read (damaged, or not a Word file).")
    assert client.get("/api/documents").get_json()["documents"] == []


def test_a_docx_with_too_many_sections_is_a_400(client):
    out = docx.Document()
    for n in range(1001):
        out.add_heading(f"Heading {n}", level=1)
    buffer = io.BytesIO()
    out.save(buffer)
    resp = upload(client, buffer.getvalue(), "many.docx")
    assert resp.status_code == 400 and "at most 1000" in resp.get_json()["error"]["message"]
    assert client.get("/api/documents").get_json()["documents"] == []
