"""Long titles and long URLs in the chat page: a URL wraps inside its source card instead of running
out of it, and the "Search in" picker cuts a long title at a word with "…"."""

from __future__ import annotations

import pytest

from tests.app.conftest import Live, document_added
from web.render import short_title

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# no hyphen or space for the browser to break at: only `overflow-wrap` keeps it inside the card
LONG_URL = "https://data.example.org/hedgehogs/survey?table=" + "WinterNestBoxTemperatures" * 6
HEDGEHOG_TITLE = "Hedgehog hibernation survey"
HEDGEHOG_DOC = f"""{HEDGEHOG_TITLE}

Source: {LONG_URL}

The hedgehogs in the nest boxes hibernated for ninety-one days on average ({LONG_URL}).
"""
LONG_TITLE = (
    "A very long title for a study of how garden hedgehogs choose their winter nest boxes across "
    "twelve suburban gardens"
)


def test_a_long_url_wraps_inside_its_source_card(page, live: Live):
    with document_added(live, "hedgehogs.txt", HEDGEHOG_DOC):
        page.goto(live.url)
        page.locator("#question textarea").fill("How many days did the hedgehogs hibernate?")
        page.locator("#ask").click()
        card = page.locator("#sources .sc-source", has_text=HEDGEHOG_TITLE).first
        card.wait_for()
        assert "data.example.org/hedgehogs/survey" in card.inner_text()
        for part in (card, card.locator(".sc-passage"), card.locator(".sc-meta")):
            width = part.evaluate("e => [e.scrollWidth, e.clientWidth]")
            assert width[0] <= width[1], f"the URL runs out of the card: {width}"
        inside = card.evaluate(
            "card => { const box = card.getBoundingClientRect();"
            " return [...card.querySelectorAll('*')].every(e => e.getBoundingClientRect().right <= box.right + 1); }"
        )
        assert inside


def test_the_picker_cuts_a_long_title_at_a_word_with_an_ellipsis(page, live: Live):
    with document_added(live, "hedgehog-nests.txt", f"{LONG_TITLE}\n\nThe hedgehogs chose the warmest boxes.\n"):
        page.goto(live.url)
        page.locator("#picker input").click()
        option = page.get_by_role("option", name=short_title(LONG_TITLE))
        option.wait_for()
        shown = option.inner_text().strip().lstrip("✓").strip()
        assert shown.endswith("…") and len(shown) <= 80
        assert LONG_TITLE.startswith(shown[:-1])  # cut between words, nothing else changed
        assert shown[:-1].split()[-1] in LONG_TITLE.split()
        assert page.get_by_role("option", name=LONG_TITLE[:80], exact=True).count() == 0
