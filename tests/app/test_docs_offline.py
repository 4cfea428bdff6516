"""The API documentation works on a machine without internet: `/docs` and `/redoc` load their
scripts and styles from StudyChat itself, so a browser that can reach nothing else still shows them."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def cut_off_from_the_network(page, live) -> list[str]:
    """Let the page reach only the StudyChat server; the list fills with every other URL it tried."""
    refused: list[str] = []

    def only_local(route) -> None:
        if route.request.url.startswith(live.url + "/"):
            route.continue_()
        else:
            refused.append(route.request.url)
            route.abort("internetdisconnected")

    page.route("**/*", only_local)
    return refused


def test_swagger_ui_shows_the_api_with_the_network_cut_off(page, live):
    refused = cut_off_from_the_network(page, live)
    page.goto(f"{live.url}/docs")
    ask = page.locator('.opblock-summary-path[data-path="/api/ask"]')
    ask.wait_for()
    assert ask.inner_text().replace("\u200b", "") == "/api/ask"
    assert page.locator(".opblock-summary-path").count() >= 5  # ask, stream, documents, ...
    assert page.get_by_role("heading", name="StudyChat").first.is_visible()
    assert refused == []


def test_redoc_shows_the_api_with_the_network_cut_off(page, live):
    refused = cut_off_from_the_network(page, live)
    page.goto(f"{live.url}/redoc")
    page.get_by_text("/api/ask", exact=True).first.wait_for()
    assert page.get_by_role("heading", name="StudyChat").first.is_visible()
    # ReDoc's "powered by" logo in its sidebar is an image from its own site; nothing else is fetched
    assert [url for url in refused if not url.endswith("redoc/logo-mini.svg")] == []
