"""On an open server (loopback, no admin token) the Documents tab uploads with no token to enter,
in Debian Chromium: Gradio's upload route stays open there, as document changes are."""

from __future__ import annotations

import httpx
import pytest

from tests.app.conftest import served

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def open_server(tmp_path_factory, embedder) -> str:
    with served(tmp_path_factory.mktemp("open"), embedder) as running:  # no admin token
        yield running.url


def test_upload_without_a_token_on_an_open_server(page, open_server, tmp_path):
    document = tmp_path / "otter-survey.txt"
    document.write_text("Otter survey\n\nThe river survey counted nineteen otters along the northern bank.\n")
    page.goto(open_server)
    page.get_by_role("tab", name="Documents").click()
    page.get_by_text("Anyone using this page can add or delete documents").wait_for()
    assert page.locator("#admin-token input").is_hidden()
    page.locator("#upload input[type=file]").set_input_files(str(document))
    page.locator("#upload-button").click()
    page.locator("#upload-results .sc-added").wait_for()
    assert "Otter survey" in page.locator("#documents").inner_text()
    ids = [d["id"] for d in httpx.get(f"{open_server}/api/documents").json()["documents"]]
    assert "otter-survey.txt" in ids
