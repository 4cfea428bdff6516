"""The Documents tab in Debian Chromium: a file under a name already in the index is refused until
"Replace documents with the same name" is ticked."""

from __future__ import annotations

import httpx
import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]
pytest.importorskip("playwright.sync_api")

FIRST = "Kestrel count\n\nVolunteers counted kestrels over the meadow.\n\nThey saw nine kestrels in May.\n"
SECOND = FIRST.replace("nine", "twelve")


def test_a_taken_name_is_replaced_only_when_ticked(page, live, tmp_path):
    name = "kestrel-count.txt"
    reply = httpx.post(f"{live.url}/api/documents", files={"files": (name, FIRST.encode())}, headers=live.auth)
    assert reply.status_code == 201, reply.text
    document = tmp_path / name
    document.write_text(SECOND)
    try:
        page.goto(live.url)
        page.get_by_role("tab", name="Documents").click()
        page.locator("#admin-token input").fill(live.token)
        page.locator("#unlock").click()  # the file picker shows once the token is accepted
        page.locator("#upload-results .sc-unlocked").wait_for()
        page.locator("#upload input[type=file]").set_input_files(str(document))
        page.locator("#upload-button").click()
        page.locator("#upload-results .sc-exists").wait_for()
        assert "Replace documents with the same name" in page.locator("#upload-results").inner_text()
        assert (live.settings.corpus / name).read_text() == FIRST

        page.locator("#replace input[type=checkbox]").check()
        page.locator("#upload input[type=file]").set_input_files(str(document))
        page.locator("#upload-button").click()
        page.locator("#upload-results .sc-updated").wait_for()
        assert (live.settings.corpus / name).read_text() == SECOND
    finally:
        httpx.delete(f"{live.url}/api/documents/{name}", headers=live.auth)
