"""Reading uploads: the kinds the app takes are read from their bytes; everything else is a clear 400."""
from __future__ import annotations

import io
import zipfile

import pytest
from file_samples import make_blank_pdf, make_docx, make_pdf

from vice_ai.errors import BadRequest
from vice_ai.files.extract import extract
from vice_ai.files.service import display_name


def read(data: bytes, name: str, max_pages: int = 50, max_chars: int = 10_000):
    return extract(data, name, max_pages=max_pages, max_chars=max_chars)


def test_text_and_markdown_are_read_as_utf8() -> None:
    got = read("Café notes\r\nline two".encode(), "notes.txt")
    assert (got.kind, got.text, got.truncated) == ("text", "Café notes\nline two", False)
    assert read("\ufeff# Title\n\nBody".encode(), "README.md").kind == "markdown"
    assert read("\ufeff# Title".encode(), "README.md").text == "# Title"  # the BOM is not text


def test_a_pdf_gives_the_text_of_its_pages() -> None:
    got = read(make_pdf("The budget is 40,000 euros.\nOver two years.", "Second page (appendix)"), "grant.pdf")
    assert got.kind == "pdf" and got.pages == 2 and not got.truncated
    assert got.text == "The budget is 40,000 euros.\nOver two years.\n\nSecond page (appendix)"


def test_the_kind_comes_from_the_bytes_not_the_name() -> None:
    assert read(make_pdf("Really a PDF"), "misnamed.txt").kind == "pdf"
    assert read(make_docx("Really Word"), "misnamed.bin").kind == "docx"


def test_a_docx_gives_paragraphs_and_tables_in_order() -> None:
    got = read(make_docx("First paragraph.", "Second one.", table=[["Item", "Cost"], ["Travel", "900"]]), "plan.docx")
    assert got.kind == "docx"
    assert got.text == "First paragraph.\n\nSecond one.\n\nItem | Cost\n\nTravel | 900"


def test_a_pdf_open_with_an_empty_password_is_read() -> None:
    assert read(make_pdf("Only protected against changes", password=""), "locked.pdf").text == \
        "Only protected against changes"


def test_caps_on_pages_and_characters_cut_and_say_so() -> None:
    got = read(make_pdf("one", "two", "three"), "long.pdf", max_pages=2)
    assert (got.text, got.pages, got.truncated) == ("one\n\ntwo", 3, True)
    got = read(b"x" * 100, "long.txt", max_chars=30)
    assert (len(got.text), got.truncated) == (30, True)


def _zip(parts: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    return out.getvalue()


REFUSED = [
    (b"", "empty.txt", "The file is empty."),
    (b"  \n\t ", "blank.md", "The file is empty."),
    (bytes(range(256)) * 4, "photo.txt", "not text"),
    (b"\x89PNG\r\n\x1a\n" + bytes(200), "image.txt", "not text"),
    ("Déjà vu".encode("latin-1"), "latin.txt", "not UTF-8"),
    (make_pdf("secret plans", password="hunter2"), "locked.pdf", "protected by a password"),
    (make_pdf("cut short")[:300], "broken.pdf", "cannot be read"),
    (b"%PDF-1.7\n" + bytes(500), "zeros.pdf", "cannot be read"),
    (make_blank_pdf(), "scan.pdf", "no text"),
    (b"Just words", "report.pdf", "not a PDF"),
    (b"Just words", "report.docx", "not a Word document"),
    (_zip({"hello.txt": b"hi"}), "archive.zip", "not a Word document"),
    (_zip({"word/document.xml": b"<not really xml"}), "fake.docx", "cannot be read"),
    (make_docx("fine")[:200], "torn.docx", "damaged"),
    (make_docx(""), "nothing.docx", "no text"),
]


@pytest.mark.parametrize(("data", "name", "words"), REFUSED, ids=[r[1] for r in REFUSED])
def test_what_cannot_be_read_is_a_bad_request_that_says_why(data: bytes, name: str, words: str) -> None:
    with pytest.raises(BadRequest) as caught:
        read(data, name)
    assert words in caught.value.message
    assert caught.value.details["field"] == "file"


def test_names_are_shown_never_used_as_paths() -> None:
    assert display_name("../../etc/passwd") == "passwd"
    assert display_name("C:\\fakepath\\report.pdf") == "report.pdf"
    assert display_name("a\x00b\u202ec.txt") == "abc.txt"
    assert display_name("") == "file" and len(display_name("x" * 500)) == 200
