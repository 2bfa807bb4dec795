"""A document to read: every section's text rendered and sanitized by the server, header titles at their levels."""
from __future__ import annotations

from auth_helpers import password_app, two_users
from conftest import make_document

from vice_ai.chat import render

SECTIONS = [
    {"title": "Plan", "type": "header", "level": 1, "content": ""},
    {"title": "Budget", "type": "header", "level": 2, "content": "Totals *below*."},
    {"title": "Summary", "content": "We **ask** for funding.\n\n```python\nx = 1\n```\n\n![chart](https://x.example/c.png)"},
    {"title": "Sources", "type": "reference", "content": "<script>alert(1)</script>"},
]


def test_every_section_comes_rendered_in_order_with_its_heading_level(client):
    doc = make_document(client, sections=SECTIONS)
    body = client.get(f"/api/documents/{doc['id']}/rendered").get_json()
    assert body["document_id"] == doc["id"] and body["title"] == "Grant proposal"
    assert [(s["title"], s["type"], s["heading"]) for s in body["sections"]] == [
        ("Plan", "header", 2), ("Budget", "header", 3), ("Summary", "text", None), ("Sources", "reference", None)]
    plan, budget, summary, sources = body["sections"]
    assert plan["html"] == "" and budget["html"] == "<p>Totals <em>below</em>.</p>\n"
    assert "<strong>ask</strong>" in summary["html"] and '<span class="hl-n">x</span>' in summary["html"]
    assert '<a class="image-link" href="https://x.example/c.png"' in summary["html"] and "<img" not in summary["html"]
    assert "<script" not in sources["html"] and "&lt;script&gt;" in sources["html"]


def test_one_section_and_its_new_text_after_an_edit(client):
    doc = make_document(client)
    section = doc["sections"][1]
    url = f"/api/documents/{doc['id']}/rendered?section={section['id']}"
    first = client.get(url).get_json()["sections"]
    assert [s["id"] for s in first] == [section["id"]] and "forty teams" in first[0]["html"]
    client.patch(f"/api/documents/{doc['id']}/sections/{section['id']}", json={"version": 1, "content": "# New"})
    (again,) = client.get(url).get_json()["sections"]
    assert again["version"] == 2 and again["html"] == "<h1>New</h1>\n"


def test_the_same_text_is_rendered_once(client):
    doc = make_document(client, sections=[{"title": "A", "content": "Same *words* here, rendered once."}])
    before = render._sections.hits
    client.get(f"/api/documents/{doc['id']}/rendered")
    client.get(f"/api/documents/{doc['id']}/rendered")
    assert render._sections.hits >= before + 1


def test_an_unknown_section_or_document_is_a_404(client):
    doc = make_document(client)
    missing = client.get(f"/api/documents/{doc['id']}/rendered?section=nope")
    assert missing.status_code == 404 and missing.get_json()["error"]["code"] == "not_found"
    assert client.get("/api/documents/nope/rendered").status_code == 404
    assert client.get(f"/api/documents/{doc['id']}/rendered?other=1").status_code == 400


def test_a_reader_reads_and_a_stranger_gets_a_404(make_app):
    app = password_app(make_app)
    alice, bob = two_users(app)
    doc = make_document(alice)
    assert bob.get(f"/api/documents/{doc['id']}/rendered").status_code == 404
    alice.put(f"/api/documents/{doc['id']}/shares/bob", json={"access": "read"})
    assert bob.get(f"/api/documents/{doc['id']}/rendered").status_code == 200
