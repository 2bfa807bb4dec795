"""Sign-in's `next` never leads off the site: not as a redirect, not as the page's data-next.

Browsers drop tabs and line breaks anywhere in a URL and read a backslash as a
slash, so "/<tab>/evil.example" is "//evil.example", another host. Each value
below is checked the way a browser would resolve it.
"""
from __future__ import annotations

import html
import re
from urllib.parse import quote, urljoin, urlsplit

import pytest
from auth_helpers import password_app, signup

SITE = "http://localhost/"

HOSTILE = [
    "/\t/evil.example/phish",
    "/\n/evil.example/",
    "/\r\n/evil.example/",
    "\t//evil.example/",
    "/\t\t/evil.example/",
    "//evil.example/",
    "///evil.example/",
    "/\\evil.example/",
    "\\\\evil.example/",
    "/\t\\evil.example/",
    "\\/evil.example/",
    "https://evil.example/",
    "HTTPS://evil.example/",
    "http:/evil.example/",
    "%2F%2Fevil.example/",
    "javascript:alert(1)",
    " javascript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "evil.example",
    "/\x00/evil.example/",
]


def browser_target(location: str) -> str:
    """Where a browser goes for this Location (or link): tabs and line breaks dropped, backslashes as slashes."""
    cleaned = re.sub(r"[\t\r\n]", "", location).strip("\x00 ").replace("\\", "/")
    return urljoin(SITE, cleaned)


def assert_on_this_site(location: str) -> None:
    target = urlsplit(browser_target(location))
    assert (target.scheme, target.netloc) == ("http", "localhost"), f"{location!r} leads to {target.geturl()!r}"
    assert not any(ord(c) < 0x20 for c in location), f"control characters in {location!r}"


@pytest.fixture
def accounts_app(make_app):
    return password_app(make_app)


@pytest.mark.parametrize("value", HOSTILE, ids=repr)
def test_signed_in_redirect_stays_on_this_site(accounts_app, value):
    client = accounts_app.test_client()
    assert signup(client, "alice").status_code == 201
    resp = client.get("/signin?next=" + quote(value, safe=""))
    assert resp.status_code == 302
    assert resp.headers["Location"] == "/"
    assert_on_this_site(resp.headers["Location"])


@pytest.mark.parametrize("value", HOSTILE, ids=repr)
def test_the_sign_in_page_hands_the_form_a_local_next(accounts_app, value):
    owner = accounts_app.test_client()
    assert signup(owner, "alice").status_code == 201  # an account exists, so the page is shown
    body = accounts_app.test_client().get("/signin?next=" + quote(value, safe="")).get_data(as_text=True)
    found = re.search(r'data-next="([^"]*)"', body)
    assert found is not None
    assert html.unescape(found.group(1)) == "/"


def test_the_reported_redirect(accounts_app):
    """The report: signed in, /signin?next=/%09/evil.example/phish answered Location: //evil.example/phish."""
    client = accounts_app.test_client()
    assert signup(client, "alice").status_code == 201
    resp = client.get("/signin?next=/%09/evil.example/phish")
    assert resp.status_code == 302 and resp.headers["Location"] == "/"


@pytest.mark.parametrize("value", ["/documents/abc", "/documents/abc?x=1&y=2", "/", "/a/b#part"], ids=repr)
def test_local_paths_are_kept(accounts_app, value):
    client = accounts_app.test_client()
    assert signup(client, "alice").status_code == 201
    resp = client.get("/signin?next=" + quote(value, safe="/"))
    assert resp.headers["Location"] == value


def test_local_mode_redirects_the_same_way(make_app):
    client = make_app().test_client()  # local mode: /signin always redirects to next
    for value in HOSTILE:
        resp = client.get("/signin?next=" + quote(value, safe=""))
        assert resp.status_code == 302 and resp.headers["Location"] == "/", value
