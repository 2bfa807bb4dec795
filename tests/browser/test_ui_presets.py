"""Presets and chat settings in the browser: make a preset, start a chat from it, edit the chat's settings, share."""
from __future__ import annotations

import pytest
from fake_openai import Reply
from playwright.sync_api import expect

from .helpers import assistant, open_document, send, session_of, sign_up, wait_live

pytestmark = pytest.mark.browser


def tool_names(request) -> list[str]:
    return sorted(t["function"]["name"] for t in request.json.get("tools") or [])


def set_tools(dialog, prefix: str, wanted: list[str]) -> None:
    for box in dialog.locator(f"input[id^='{prefix}-tool-']").all():
        box.set_checked(box.get_attribute("value") in wanted)


def test_start_a_chat_from_a_preset_and_edit_its_settings(served, doc, model, new_page):
    model.default = Reply(text="Arr.")
    page = new_page()
    open_document(page, served.url, doc)

    # Make a preset in the Presets dialog.
    page.get_by_role("button", name="Presets…").click()
    dialog = page.locator("#presets-dialog")
    expect(dialog.locator('.preset-row[data-kind="builtin"]')).to_have_count(6)
    dialog.get_by_label("Name").fill("Pirate")
    dialog.get_by_label("System prompt").fill("Talk like a pirate.")
    dialog.get_by_label("Temperature (0–2)").fill("1.2")
    set_tools(dialog, "preset", ["read_section"])
    expect(dialog.locator("#preset-share-row")).to_be_hidden()  # local mode: nobody to share with
    dialog.get_by_role("button", name="Save preset").click()
    expect(dialog.locator('.preset-row[data-kind="own"] .preset-name')).to_have_text(["Pirate"])
    dialog.get_by_role("button", name="Close").click()
    [preset] = [p for p in served.api("GET", "/api/presets")["presets"] if p["kind"] == "own"]
    assert (preset["system_prompt"], preset["temperature"], preset["tools"]) == (
        "Talk like a pirate.", 1.2, ["read_section"])

    # Pick it, and the first message starts a chat from it: the model gets its settings.
    page.get_by_label("New chats start from").select_option(label="Pirate")
    send(page, "Where is the treasure?")
    expect(assistant(page)).to_have_attribute("data-status", "complete")
    sent = model.chat_requests[-1]
    assert sent.json["messages"][0]["content"].startswith("Talk like a pirate.")
    assert sent.json["temperature"] == 1.2 and tool_names(sent) == ["read_section"]
    assert session_of(served, page)["config"]["preset_id"] == preset["id"]

    # Edit the chat's settings in the page.
    wait_live(page)
    page.get_by_role("button", name="Chat settings").click()
    settings = page.locator("#chat-settings-dialog")
    expect(settings.locator("#chat-settings-preset")).to_contain_text("Started from the preset “Pirate”")
    prompt = settings.get_by_label("System prompt")
    expect(prompt).to_have_value("Talk like a pirate.")
    expect(settings.get_by_label("Temperature (0–2)")).to_have_value("1.2")
    prompt.fill("Answer in one haiku.")
    settings.get_by_label("Temperature (0–2)").fill("0.5")
    settings.get_by_label("Model").select_option("fake-large")
    set_tools(settings, "chat-settings", ["read_section", "list_sections"])
    settings.get_by_role("button", name="Save").click()
    expect(settings).to_be_hidden()
    expect(page.locator(".toast").filter(has_text="Chat settings saved")).to_be_visible()
    expect(page.locator("#model-select")).to_have_value("fake-large")
    config = session_of(served, page)["config"]
    assert (config["system_prompt"], config["temperature"], config["model"], config["tools"]) == (
        "Answer in one haiku.", 0.5, "fake-large", ["read_section", "list_sections"])

    send(page, "And now?")
    expect(assistant(page)).to_contain_text("Arr.")
    expect(page.locator("#messages .msg-assistant")).to_have_count(2)
    expect(assistant(page)).to_have_attribute("data-status", "complete")
    sent = model.chat_requests[-1]
    assert sent.json["messages"][0]["content"].startswith("Answer in one haiku.")
    assert (sent.json["temperature"], sent.json["model"]) == (0.5, "fake-large")
    assert tool_names(sent) == ["list_sections", "read_section"]
    # The preset itself did not change.
    assert [p for p in served.api("GET", "/api/presets")["presets"] if p["kind"] == "own"] == [preset]

    # "New chat" with a built-in preset picked.
    page.get_by_label("New chats start from").select_option("builtin:summarise")
    page.get_by_role("button", name="New chat").click()
    expect(page.locator("#session-select option")).to_have_count(2)
    wait_live(page)
    assert session_of(served, page)["config"]["preset_name"] == "Summarise"

    # Delete the preset: gone from the picker, the chat keeps its settings.
    page.get_by_role("button", name="Presets…").click()
    dialog.get_by_role("button", name="Delete Pirate").click()
    page.locator("#confirm-dialog").get_by_role("button", name="Delete").click()
    expect(dialog.locator('.preset-row[data-kind="own"]')).to_have_count(0)
    expect(page.locator("#preset-select option", has_text="Pirate")).to_have_count(0)


def api_as(page, method: str, path: str, body=None):
    """Call the API from the page, as its signed-in user."""
    return page.evaluate("""async ([method, path, body]) => {
        const resp = await fetch(path, {method, headers: {"Content-Type": "application/json", "X-VICE-CSRF": "1"},
                                        body: body === null ? undefined : JSON.stringify(body)});
        return resp.json();
    }""", [method, path, body])


def test_an_owner_shares_a_preset_with_the_readers_of_a_document(served_accounts, model, new_page):
    model.default = Reply(text="In house style.")
    base = served_accounts.url
    alice = new_page(base + "/signup")
    sign_up(alice, "alice")
    alice.wait_for_url(base + "/")
    bob = new_page(base + "/signup")
    sign_up(bob, "bob")
    bob.wait_for_url(base + "/")
    doc = api_as(alice, "POST", "/api/documents", {"title": "Team plan", "sections": [{"title": "Goals"}]})
    api_as(alice, "PUT", f"/api/documents/{doc['id']}/shares/bob", {"access": "edit"})
    private = api_as(alice, "POST", "/api/presets", {"name": "Alice only", "system_prompt": "Private."})

    # Alice makes a preset in the page and shares it with the document's readers.
    open_document(alice, base, doc)
    alice.get_by_role("button", name="Presets…").click()
    dialog = alice.locator("#presets-dialog")
    dialog.get_by_label("Name").fill("House style")
    dialog.get_by_label("System prompt").fill("Write in the house style.")
    dialog.get_by_label("Share with everyone who can read this document").check()
    dialog.get_by_role("button", name="Save preset").click()
    row = dialog.locator('.preset-row[data-kind="own"]', has_text="House style")
    expect(row).to_contain_text("Shared here")

    # Bob sees it (not her private one), may use it, may not change it.
    open_document(bob, base, doc)
    picker = bob.get_by_label("New chats start from")
    expect(picker.locator('optgroup[label="Shared with this document"] option')).to_have_text(["House style (alice)"])
    expect(picker.locator("option", has_text="Alice only")).to_have_count(0)
    bob.get_by_role("button", name="Presets…").click()
    shared = bob.locator('#presets-dialog .preset-row[data-kind="shared"]')
    expect(shared).to_contain_text("Shared by alice")
    expect(shared.get_by_role("button", name="Copy House style into a new preset")).to_be_visible()
    expect(shared.get_by_role("button", name="Edit House style")).to_have_count(0)
    expect(bob.locator("#preset-share-row")).to_be_hidden()  # not his document to share with
    bob.locator("#presets-close").click()
    picker.select_option(label="House style (alice)")
    send(bob, "Draft the goals")
    expect(assistant(bob)).to_have_attribute("data-status", "complete")
    assert model.chat_requests[-1].json["messages"][0]["content"].startswith("Write in the house style.")
    assert private["id"] not in [p["id"] for p in api_as(bob, "GET", f"/api/presets?document_id={doc['id']}")["presets"]]
