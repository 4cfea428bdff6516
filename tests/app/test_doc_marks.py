"""A quoted document's own reference marks ("1968,[1]") show as superscript in the chat's sources
panel and in the widget, so that only StudyChat's citation marks read [n]."""

from __future__ import annotations

import pytest

from tests.app.conftest import Live, document_added

QUILL = """Ada Quill

Ada Quill is a British chemist who studies glass. She was born in Leeds on 26 June 1968,[1] and grew up in York.[2][3]

She won the Faraday prize in 2004 for her work on glass.[4]
"""
QUESTION = "Where was Ada Quill born?"


@pytest.fixture(scope="module")
def quill(live: Live) -> str:
    with document_added(live, "ada-quill.txt", QUILL) as document_id:
        yield document_id


@pytest.mark.browser
@pytest.mark.slow
def test_sources_panel_shows_the_documents_marks_as_its_own(page, live, quill):
    page.goto(live.url)
    page.locator("#question textarea").fill(QUESTION)
    page.locator("#ask").click()
    card = page.locator("#sources .sc-source", has_text="Ada Quill").first
    card.wait_for()
    passage = card.locator(".sc-passage").inner_text()
    assert "Leeds on 26 June 1968,⁽¹⁾ and grew up in York.⁽²⁾⁽³⁾" in passage
    assert "[1]" not in passage and "[2]" not in passage


@pytest.mark.browser
@pytest.mark.slow
def test_widget_shows_the_documents_marks_as_its_own(page, live, quill, host_sites):
    html = f"""<!doctype html><html><head><meta charset="utf-8"><title>Ada Quill</title></head><body>
<script src="{live.url}/widget.js" data-documents="{quill}" defer></script></body></html>"""
    site = host_sites({"/quill.html": ("text/html; charset=utf-8", html, {})})
    page.goto(site + "/quill.html")
    page.locator("[data-studychat] .launcher").click()
    panel = page.locator("[data-studychat] .panel")
    panel.locator("input").fill(QUESTION)
    panel.locator("form button").click()
    passage = panel.locator(".source .passage").first
    passage.wait_for()
    assert "1968,⁽¹⁾ and grew up in York.⁽²⁾⁽³⁾" in passage.inner_text()
    assert "[1]" not in passage.inner_text()
    assert "1968,⁽¹⁾" in passage.locator("mark").inner_text()  # the quote is still found and marked


@pytest.mark.slow
def test_answer_text_shows_the_documents_marks_as_its_own(http, quill):
    answer = http.post("/api/ask", json={"question": QUESTION, "document_ids": [quill]}).json()
    assert "1968,⁽¹⁾ and grew up in York.⁽²⁾⁽³⁾ [1]" in answer["answer"]
    assert "[2]" not in answer["answer"] and "[1]" in answer["citations"][0]["passage"]
