"""Deleting in the Documents tab (Debian Chromium): Delete only asks, naming the document and its
file; Cancel, or choosing another document, keeps everything; Confirm removes the document and its
file, and the log says so as it does for a delete through the API."""

from __future__ import annotations

import logging
import re

import pytest

from tests.app.conftest import SEED, document_added

pytestmark = [pytest.mark.browser, pytest.mark.slow]
sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect

NOTE = "Otter census\n\nThe otter census found eleven otters along the estuary.\n"


def choose(page, document_id: str) -> None:
    """Pick a document in "Document to delete" (options read "<title> (<id>)")."""
    page.locator("#delete-choice input").click()
    page.get_by_role("option", name=re.compile(re.escape(f"({document_id})"))).click()


def test_delete_asks_first_and_confirm_removes_the_document_and_its_file(page, live, http, caplog):
    caplog.set_level(logging.INFO, logger="studychat.web")
    with document_added(live, "otter-census.txt", NOTE) as document_id:
        file = live.settings.corpus / "otter-census.txt"
        page.goto(live.url)
        page.get_by_role("tab", name="Documents").click()
        choose(page, document_id)
        page.locator("#delete-button").click()  # without the token: refused, nothing asked
        expect(page.locator("#upload-results .sc-refused")).to_contain_text("the admin token is required")
        expect(page.locator("#delete-confirm")).to_be_hidden()

        page.locator("#admin-token input").fill(live.token)
        page.locator("#unlock").click()
        page.locator("#upload-results .sc-unlocked").wait_for()
        page.locator("#delete-button").click()
        expect(page.locator("#delete-question")).to_have_text(
            "Delete “Otter census” and its file otter-census.txt? This cannot be undone."
        )
        page.locator("#delete-cancel").click()
        expect(page.locator("#delete-confirm")).to_be_hidden()

        page.locator("#delete-button").click()
        expect(page.locator("#delete-confirm")).to_be_visible()
        choose(page, SEED.name)  # another document chosen: the question about the first one goes
        expect(page.locator("#delete-confirm")).to_be_hidden()
        assert document_id in ids(http) and file.exists()

        choose(page, document_id)
        page.locator("#delete-button").click()
        page.locator("#delete-confirm-button").click()
        expect(page.locator("#upload-results .sc-removed")).to_contain_text("Otter census")
        expect(page.locator("#delete-confirm")).to_be_hidden()
        expect(page.locator("#documents")).not_to_contain_text("Otter census")
        assert document_id not in ids(http) and not file.exists()
        assert SEED.name in ids(http)
    assert f"removed {document_id} (through the Documents tab)" in caplog.messages

    with document_added(live, "otter-census.txt", NOTE) as document_id:
        assert http.delete(f"/api/documents/{document_id}", headers=live.auth).status_code == 200
    assert f"removed {document_id} (through the API)" in caplog.messages


def ids(http) -> set[str]:
    return {d["id"] for d in http.get("/api/documents").json()["documents"]}
