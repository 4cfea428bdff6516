"""Asking chosen documents: the API's `document_ids` and `searched`, the chat's document picker and
the widget's `data-documents`. The seed study answers the side-effects question; the orchard
document does not, so an answer limited to it must not come from the study."""

from __future__ import annotations

import json

import pytest

from tests.app.conftest import Live, document_added

CAR_T = "What side effects did the patients have?"  # answered by the seed study only
ORCHARD = "Orchard frost study"
ORCHARD_DOC = f"""# {ORCHARD}

Growers covered sixty apple trees with fleece during the spring frosts.

The covered trees kept four fifths of their blossom, while the open trees kept under half.
"""
ORCHARD_QUESTION = "How much blossom did the covered trees keep?"


@pytest.fixture(scope="module")
def orchard(live: Live) -> str:
    """The orchard document, added for this module; its id."""
    with document_added(live, "orchard-frost.md", ORCHARD_DOC) as document_id:
        yield document_id


def cited_documents(answer: dict) -> set[str]:
    return {c["document_id"] for c in answer["citations"]}


def test_api_answers_only_from_the_chosen_document(http, orchard):
    limited = http.post("/api/ask", json={"question": CAR_T, "document_ids": [orchard]}).json()
    assert "fever" not in limited["answer"]
    assert cited_documents(limited) <= {orchard}
    assert limited["searched"] == {"all": False, "count": 1, "documents": [{"id": orchard, "title": ORCHARD}]}

    everywhere = http.post("/api/ask", json={"question": CAR_T}).json()
    assert "fever" in everywhere["answer"]
    assert everywhere["searched"] == {"all": True, "count": 2, "documents": []}


def test_api_names_unknown_document_ids(http, orchard):
    reply = http.post("/api/ask", json={"question": CAR_T, "document_ids": [orchard, "no-such-paper.pdf"]})
    assert reply.status_code == 422
    assert "no-such-paper.pdf" in reply.json()["detail"] and orchard not in reply.json()["detail"]
    stream = http.post("/api/ask/stream", json={"question": CAR_T, "document_ids": ["no-such-paper.pdf"]})
    assert stream.status_code == 422 and "no-such-paper.pdf" in stream.json()["detail"]


def test_stream_answer_says_what_was_searched(http, orchard):
    with http.stream("POST", "/api/ask/stream", json={"question": ORCHARD_QUESTION, "document_ids": [orchard]}) as r:
        body = r.read().decode()
    answer = next(json.loads(e.split("data: ", 1)[1]) for e in body.split("\n\n") if e.startswith("event: answer"))
    assert "four fifths" in answer["answer"]
    assert answer["searched"]["documents"] == [{"id": orchard, "title": ORCHARD}]


@pytest.mark.browser
@pytest.mark.slow
def test_chat_asks_only_the_chosen_document(page, live, orchard):
    page.goto(live.url)
    picker = page.locator("#picker")
    picker.locator("input").click()
    page.get_by_role("option", name=ORCHARD).click()
    page.keyboard.press("Escape")
    page.locator("#question textarea").fill(CAR_T)
    page.locator("#ask").click()
    searched = page.locator("#sources .sc-turn[open] .sc-searched")
    searched.wait_for()
    assert searched.inner_text() == f"Searched: {ORCHARD}"
    answer = page.locator("#chat .message.bot, #chat [data-testid='bot']").last
    assert "fever" not in answer.inner_text()
    for card in page.locator("#sources .sc-turn[open] .sc-source header").all():
        assert ORCHARD in card.inner_text()

    # With the choice cleared, every document is asked again.
    picker.locator("input").click()
    page.get_by_role("option", name=ORCHARD).click()  # a second click unchooses it
    page.keyboard.press("Escape")
    page.locator("#question textarea").fill(CAR_T)
    page.locator("#ask").click()
    page.locator("#sources .sc-turn[open][data-turn='2'] .sc-searched", has_text="all 2 documents").wait_for()
    assert "fever" in page.locator("#chat .message.bot, #chat [data-testid='bot']").last.inner_text()


@pytest.mark.browser
@pytest.mark.slow
def test_the_choice_belongs_to_one_browser(browser, page, live, orchard):
    page.goto(live.url)
    page.locator("#picker input").click()
    page.get_by_role("option", name=ORCHARD).click()
    page.keyboard.press("Escape")
    page.locator("#question textarea").fill(CAR_T)
    page.locator("#ask").click()
    page.locator("#sources .sc-searched", has_text=ORCHARD).wait_for()
    other = browser.new_context().new_page()  # another reader, who chose nothing
    try:
        other.goto(live.url)
        other.locator("#question textarea").fill(CAR_T)
        other.locator("#ask").click()
        other.locator("#sources .sc-searched", has_text="all 2 documents").wait_for(timeout=30_000)
    finally:
        other.context.close()


@pytest.mark.browser
@pytest.mark.slow
def test_picker_lists_documents_added_while_the_page_is_open(page, live, orchard):
    page.goto(live.url)
    page.locator("#picker input").click()
    page.get_by_role("option", name=ORCHARD).wait_for()
    page.keyboard.press("Escape")
    with document_added(live, "tide-tables.txt", "Tide tables\n\nThe spring tide rose two metres at noon.\n"):
        page.locator("#question textarea").click()
        page.locator("#picker input").click()  # choosing again shows the index as it is now
        page.get_by_role("option", name="Tide tables").wait_for()


@pytest.mark.browser
@pytest.mark.slow
def test_widget_asks_the_documents_of_its_script_tag(page, live, orchard, host_sites):
    html = f"""<!doctype html><html><head><meta charset="utf-8"><title>Orchard notes</title></head>
<body><h1>Orchard notes</h1>
<script src="{live.url}/widget.js" data-documents=" {orchard} " data-title="Ask about this paper" defer></script>
</body></html>"""
    site = host_sites({"/paper.html": ("text/html; charset=utf-8", html, {})})
    page.goto(site + "/paper.html")
    page.locator("[data-studychat] .launcher").click()
    panel = page.locator("[data-studychat] .panel")
    for question in (CAR_T, ORCHARD_QUESTION):
        panel.locator("input").fill(question)
        panel.locator("form button").click()
        panel.locator(".msg.bot .searched").nth(0 if question == CAR_T else 1).wait_for()
    first, second = panel.locator(".msg.bot").nth(1), panel.locator(".msg.bot").nth(2)
    assert "fever" not in first.inner_text()
    assert f"Searched: {ORCHARD}" in first.inner_text()
    assert "four fifths" in second.inner_text()
    assert ORCHARD in second.locator(".source .title").first.inner_text()


@pytest.mark.browser
@pytest.mark.slow
def test_a_chosen_document_removed_meanwhile_is_named(page, live):
    with document_added(live, "tide-tables.txt", "Tide tables\n\nThe spring tide rose two metres at noon.\n") as tide:
        page.goto(live.url)
        page.locator("#picker input").click()
        page.get_by_role("option", name="Tide tables").click()
        page.keyboard.press("Escape")
    page.locator("#question textarea").fill("How high did the spring tide rise?")
    page.locator("#ask").click()
    page.locator("#chat", has_text="no longer in the index").wait_for()
    assert tide in page.locator("#chat").inner_text()
