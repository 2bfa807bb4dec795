"""The API reference page in Chromium: every operation rendered under the app's own CSP, 'Try it out' works."""
from __future__ import annotations

import pytest

from vice_ai.api.openapi import build_openapi

pytestmark = pytest.mark.browser


def _operations(document: dict) -> list[tuple[str, str]]:
    methods = {"get", "post", "put", "patch", "delete"}
    return [(m, p) for p, item in document["paths"].items() for m in item if m in methods]


def test_reference_page_renders_every_operation_and_try_it_out_sends_the_csrf_header(served, new_page):
    page = new_page()
    failed: list[str] = []
    page.on("requestfailed", lambda r: failed.append(f"{r.url}: {r.failure}"))
    page.goto(f"{served.url}/api/docs")
    page.wait_for_selector(".opblock")
    assert page.locator(".opblock").count() == len(_operations(build_openapi(served.app)))
    assert "OAS 3.1" in page.inner_text(".info")
    block = page.locator('[id="operations-documents-documents\\\\.create_document"]')  # Swagger escapes the dot
    block.locator(".opblock-summary").click()
    block.locator(".try-out__btn").click()
    with page.expect_response(lambda r: r.url.endswith("/api/documents") and r.request.method == "POST") as got:
        block.locator(".execute").click()
    assert got.value.request.headers.get("x-vice-csrf") == "1" and got.value.status != 403
    assert failed == []
