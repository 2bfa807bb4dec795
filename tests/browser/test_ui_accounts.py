"""The account and admin pages in the browser: an admin creates a user who then signs in; a user
changes their password; a user makes an API token, sees it once, and revokes it."""
from __future__ import annotations

import json
import re
import urllib.error
import urllib.request

import pytest
from auth_helpers import FAST_HASH, PASSWORD
from playwright.sync_api import expect

from .conftest import Served
from .helpers import sign_in, sign_out, sign_up

pytestmark = pytest.mark.browser

NEW_PASSWORD = "a much longer passphrase"


@pytest.fixture
def served_accounts(make_app, model):
    server = Served(make_app, {"AUTH": "password", "PASSWORD_METHOD": FAST_HASH, "OPENAI_BASE_URL": model.url,
                               "OPENAI_API_KEY": "sk-test-not-a-real-key", "MODEL": "fake-model"})
    server.start()
    yield server
    server.stop()


def as_script(server: Served, token: str) -> int:
    """GET /api/me with the token, as a script would; the status."""
    req = urllib.request.Request(server.url + "/api/me", headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            assert json.loads(resp.read())["user"]["username"] == "alice"
            return resp.status
    except urllib.error.HTTPError as err:
        return err.code


def test_an_admin_creates_a_user_who_signs_in_and_changes_the_password(served_accounts, new_page):
    base = served_accounts.url
    admin = new_page(base + "/")
    admin.wait_for_url("**/signup")
    sign_up(admin, "alice")
    admin.wait_for_url(base + "/")
    admin.locator("#admin-link").click()
    admin.wait_for_url(base + "/admin")
    expect(admin.locator("#user-table tbody tr")).to_have_count(1)
    admin.locator("#new-username").fill("bob")
    admin.locator("#new-user-password").fill(PASSWORD)
    admin.locator("#user-form button[type=submit]").click()
    expect(admin.locator('#user-table tr[data-username="bob"]')).to_contain_text("user")
    # Removing the last admin is refused, and says why.
    admin.locator('#user-table tr[data-username="alice"] button', has_text="Remove admin").click()
    admin.locator("#confirm-dialog .confirm-ok").click()
    expect(admin.locator(".toast-error")).to_contain_text("last admin")

    bob = new_page(base + "/")
    bob.wait_for_url(re.compile(r"/signin"))
    sign_in(bob, "bob")
    bob.wait_for_url(base + "/")
    expect(bob.locator("#user-name")).to_have_text("bob")
    expect(bob.locator("#admin-link")).to_have_count(0)
    bob.locator("#user-name").click()  # the name leads to the account page
    bob.wait_for_url(base + "/account")
    bob.locator("#current-password").fill("wrong password")
    bob.locator("#new-password").fill(NEW_PASSWORD)
    bob.locator("#new-password2").fill(NEW_PASSWORD)
    bob.locator("#password-form button[type=submit]").click()
    expect(bob.locator("#password-error")).to_contain_text("current password is wrong")
    bob.locator("#current-password").fill(PASSWORD)
    bob.locator("#new-password").fill(NEW_PASSWORD)
    bob.locator("#new-password2").fill(NEW_PASSWORD)
    bob.locator("#password-form button[type=submit]").click()
    expect(bob.locator("#password-done")).to_be_visible()
    bob.goto(base + "/")  # still signed in, with the new cookie
    expect(bob.locator("#user-name")).to_have_text("bob")
    sign_out(bob)
    sign_in(bob, "bob", NEW_PASSWORD)
    bob.wait_for_url(base + "/")
    # The admin page is not there for bob.
    assert bob.goto(base + "/admin").status == 404

    # The admin makes bob an admin from the list.
    admin.reload()
    admin.locator('#user-table tr[data-username="bob"] button', has_text="Make admin").click()
    admin.locator("#confirm-dialog .confirm-ok").click()
    # ("admin" alone is in the row already: its button says "Make admin")
    expect(admin.locator('#user-table tr[data-username="bob"] button', has_text="Remove admin")).to_be_visible()
    bob.reload()
    expect(bob.locator("#admin-link")).to_be_visible()


def test_a_user_makes_a_token_sees_it_once_and_revokes_it(served_accounts, new_page):
    base = served_accounts.url
    page = new_page(base + "/")
    page.wait_for_url("**/signup")
    sign_up(page, "alice")
    page.wait_for_url(base + "/")
    page.goto(base + "/account")
    expect(page.locator("#token-list")).to_contain_text("No tokens yet")
    page.locator("#token-name").fill("nightly export")
    page.locator("#token-name").press("Enter")
    expect(page.locator("#new-token")).to_be_visible()
    token = page.locator("#new-token-value").text_content()
    assert token and token.startswith("vice_")
    row = page.locator("#token-table tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("nightly export")
    expect(row).to_contain_text("never")
    assert token not in row.text_content()
    assert as_script(served_accounts, token) == 200
    # Shown once: gone after "Done", and not there after a reload.
    page.locator("#hide-token").click()
    expect(page.locator("#new-token")).to_be_hidden()
    page.reload()
    expect(page.locator("#token-table tbody tr td").nth(3)).to_have_text("just now")  # last used: by the script
    assert token not in page.content()
    page.locator("#token-table button", has_text="Revoke").click()
    page.locator("#confirm-dialog .confirm-ok").click()
    expect(page.locator("#token-list")).to_contain_text("No tokens yet")
    assert as_script(served_accounts, token) == 401


def test_an_admin_resets_a_forgotten_password(served_accounts, new_page):
    base = served_accounts.url
    admin = new_page(base + "/")
    admin.wait_for_url("**/signup")
    sign_up(admin, "alice")
    admin.wait_for_url(base + "/")
    admin.goto(base + "/admin")
    admin.locator("#new-username").fill("bob")
    admin.locator("#new-user-password").fill(PASSWORD)
    admin.locator("#user-form button[type=submit]").click()
    bob = new_page(base + "/signin")
    sign_in(bob, "bob")
    bob.wait_for_url(base + "/")
    admin.locator('#user-table tr[data-username="bob"] button', has_text="Reset password").click()
    admin.locator("#reset-password").fill(NEW_PASSWORD)
    admin.locator("#reset-password").press("Enter")
    expect(admin.locator("#reset-dialog")).to_be_hidden()
    expect(admin.locator(".toast").last).to_contain_text("New password set for bob")
    bob.reload()
    bob.wait_for_url(re.compile(r"/signin"))
    sign_in(bob, "bob", NEW_PASSWORD)
    bob.wait_for_url(base + "/")
