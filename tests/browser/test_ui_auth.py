"""Accounts in the browser: first-run setup, sign in and out, and one user never sees another's document."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from .helpers import sign_in, sign_out, sign_up

pytestmark = pytest.mark.browser


def test_one_user_never_sees_anothers_document(served_accounts, new_page):
    base = served_accounts.url
    page = new_page(base + "/")
    page.wait_for_url("**/signup")  # first run: the admin account
    expect(page.locator("h1")).to_have_text("Welcome to VICE AI")
    sign_up(page, "alice")
    page.wait_for_url(base + "/")
    expect(page.locator("#user-name")).to_have_text("alice")
    page.locator("#new-doc-title").fill("Alice's secret plan")
    page.locator("#new-doc-title").press("Enter")
    page.wait_for_url("**/documents/*")
    expect(page.locator("#doc-title")).to_have_text("Alice's secret plan")
    alices_url = page.url
    sign_out(page)

    page.get_by_role("link", name="Create one").click()
    sign_up(page, "bob")
    page.wait_for_url(base + "/")
    expect(page.locator("#user-name")).to_have_text("bob")
    expect(page.locator(".empty-state")).to_contain_text("No documents yet")
    expect(page.locator(".doc-link")).to_have_count(0)
    response = page.goto(alices_url)
    assert response.status == 404
    expect(page.locator("h1")).to_contain_text("Not found")
    expect(page.locator("body")).not_to_contain_text("secret plan")

    sign_out(page)
    sign_in(page, "alice")
    page.wait_for_url(base + "/")
    expect(page.locator(".doc-link")).to_have_text(["Alice's secret plan"])


def test_sign_in_errors_and_the_way_back(served_accounts, new_page):
    base = served_accounts.url
    page = new_page(base + "/signup")
    sign_up(page, "alice")
    page.wait_for_url(base + "/")
    sign_out(page)
    page.goto(base + "/documents/2f1b4c1e-8a4e-4a43-9a7c-2d5b8f0c9e11")
    page.wait_for_url(re.compile(r"/signin\?next=/documents/"))  # signed out: sign in, then come back
    sign_in(page, "alice", "not the password")
    expect(page.locator("#auth-error")).to_have_text("Wrong username or password.")
    sign_in(page, "alice")
    page.wait_for_url("**/documents/2f1b4c1e-8a4e-4a43-9a7c-2d5b8f0c9e11")
    expect(page.locator("h1")).to_contain_text("Not found")


def test_local_mode_shows_no_accounts(served, new_page):
    page = new_page(served.url + "/")
    expect(page.locator("h1")).to_have_text("Documents")
    expect(page.locator("#user-menu")).to_have_count(0)


@pytest.mark.parametrize("hostile", ["/%09/evil.example/", "/%0a/evil.example/", "/%5C/evil.example/"])
def test_signing_in_never_leaves_the_site(served_accounts, new_page, hostile):
    """Browsers drop tabs and line breaks from URLs: next=/%09/evil.example/ once led to http://evil.example/."""
    base = served_accounts.url
    page = new_page(base + "/signup")
    sign_up(page, "alice")
    page.wait_for_url(base + "/")
    sign_out(page)
    left: list[str] = []
    page.route("**/*", lambda route: (left.append(route.request.url), route.abort())
               if not route.request.url.startswith(base) else route.continue_())
    page.goto(base + "/signin?next=" + hostile)
    sign_in(page, "alice")
    page.wait_for_url(base + "/")
    expect(page.locator("#user-name")).to_have_text("alice")
    assert left == [], f"the page tried to leave the site: {left}"
