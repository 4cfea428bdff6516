"""The HTML the UI builds from documents: every document string is shown as text."""

from __future__ import annotations

from web import render

PAYLOAD = '<img src=x onerror="alert(1)"> <script>alert(2)</script> [link](javascript:alert(3))'


def test_plain_text_is_neither_html_nor_markdown():
    out = render.plain(PAYLOAD)
    assert "<" not in out and "&lt;img" in out
    assert "\\[link\\]\\(javascript" in out


def test_markers_become_links_only_for_known_citations():
    out = render.answer_markdown("Fever was seen [1] and [7] <b>x</b>", turn=2, known={1})
    assert '<a class="cite" href="#src-2-1"' in out
    assert "src-2-7" not in out and "&lt;b&gt;" in out


def test_source_card_escapes_every_field_and_marks_the_quote():
    citation = {
        "n": 1,
        "title": "T <script>x</script>",
        "source": "javascript:alert(1)",
        "date": "2022<b>",
        "page": None,
        "quote": "the <img> sentence",
        "passage": "Before. the <img> sentence After.",
    }
    html = render.sources_html([{"question": "q<i>", "answer": {"refused": False, "citations": [citation]}}])
    assert "<script>" not in html and "<img>" not in html and "<i>" not in html
    assert "<mark>the &lt;img&gt; sentence</mark>" in html
    assert 'href="javascript' not in html


def test_links_only_for_web_addresses_and_dois():
    assert render.safe_link("10.1038/s41591-022-02017-5") == "https://doi.org/10.1038/s41591-022-02017-5"
    assert render.safe_link("https://example.org/a") == "https://example.org/a"
    assert render.safe_link("javascript:alert(1)") is None
    assert render.safe_link("data:text/html,x") is None


def test_refused_answers_head_the_passages_as_related():
    turn = {"question": "q", "answer": {"refused": True, "citations": []}}
    assert "Related passages" in render.sources_html([turn])
