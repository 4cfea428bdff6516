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


def test_a_documents_own_marks_in_a_passage_are_not_citation_marks():
    passage = "Intro. She was born on 26 June 1968,[1] and grew up in York.[2][3] More."
    citation = {
        "n": 1,
        "title": "Ada",
        "quote": "She was born on 26 June 1968,[1] and grew up in York.",
        "passage": passage,
    }
    html = render.sources_html([{"question": "q", "answer": {"refused": False, "citations": [citation]}}])
    assert "<mark>She was born on 26 June 1968,⁽¹⁾ and grew up in York.</mark>⁽²⁾⁽³⁾ More." in html
    assert "[1]" not in html.replace('<span class="sc-n">[1]</span>', "")


def test_a_mark_that_is_no_citation_shows_as_the_documents_own():
    out = render.answer_markdown("Born in 1968 [7] in York [1]", turn=1, known={1})
    assert "⁽⁷⁾" in out and "src-1-7" not in out and 'href="#src-1-1"' in out


def test_sources_say_which_documents_were_searched():
    chosen = {"all": False, "count": 2, "documents": [{"id": "a", "title": "Trial <A>"}, {"id": "b", "title": "B"}]}
    turns = [
        {"question": "q1", "answer": {"refused": False, "citations": []}, "searched": {"all": True, "count": 98}},
        {"question": "q2", "answer": {"refused": True, "citations": []}, "searched": chosen},
    ]
    html = render.sources_html(turns)
    assert "Searched: Trial &lt;A&gt;; B" in html and "Searched: all 98 documents" in html
    one = {"all": True, "count": 1, "documents": []}
    assert "Searched: the only document" in render.sources_html([{**turns[0], "searched": one}])


def test_an_upload_result_says_how_the_file_was_read():
    html = render.results_html(
        [
            {
                "path": "scan.pdf",
                "status": "added",
                "title": "Ward <b>rota</b>",
                "chunks": 3,
                "reason": "",
                "notes": ["read by OCR: pages 1-2", "page 3 repeats page 1 and is stored once"],
            },
        ]
    )
    assert "read by OCR: pages 1-2" in html and "page 3 repeats page 1" in html
    assert "<b>" not in html and "Ward &lt;b&gt;rota&lt;/b&gt;" in html


def test_a_tentative_answer_is_muted_and_its_sources_say_so():
    citation = {"n": 1, "title": "Trial", "quote": "Fever was seen.", "passage": "Fever was seen."}
    tentative = {"answer": "The closest statement in the documents: Fever was seen. [1]", "citations": [citation]}
    tentative.update(tentative=True, refused=False, confidence=0.414)
    message = render.answer_message(tentative, turn=1)
    assert message.startswith('<div class="sc-tentative">') and 'href="#src-1-1"' in message
    stated = {**tentative, "answer": "Fever was seen. [1]", "tentative": False}
    assert "sc-tentative" not in render.answer_message(stated, turn=1)

    html = render.sources_html([{"question": "q", "answer": tentative, "searched": {"all": True, "count": 1}}])
    assert "Closest passages" in html and "Searched: the only document · confidence 0.41" in html
    declined = {**tentative, "tentative": False, "refused": True}
    assert "confidence" not in render.sources_html([{"question": "q", "answer": declined}])


PASSAGE = "Five patients were treated. All had nephritis. Only mild fever was seen."


def test_two_citations_of_one_passage_are_one_card_marking_both_quotes():
    cited = [
        {"n": 1, "document_id": "d", "title": "Study", "quote": "Five patients were treated.", "passage": PASSAGE},
        {"n": 2, "document_id": "d", "title": "Study", "quote": "Only mild fever was seen.", "passage": PASSAGE},
        {"n": 3, "document_id": "e", "title": "Other", "quote": "Else.", "passage": "Else."},
    ]
    html = render.sources_html([{"question": "q", "answer": {"refused": False, "citations": cited}}])
    assert html.count('<article class="sc-source"') == 2
    card = html[html.index('id="src-1-1"') : html.index('id="src-1-3"')]
    assert '<span class="sc-n">[1]</span> <span class="sc-n">[2]</span>' in card
    assert "<mark>Five patients were treated.</mark> All had nephritis. " in card
    # the link of [2] points at its own quote inside the card
    assert '<span class="sc-at" id="src-1-2" data-cite="src-1-2"></span><mark>Only mild fever was seen.</mark>' in card
    assert '<span class="sc-at" data-cite="src-1-1"></span><mark>Five patients were treated.</mark>' in card


def test_a_declined_questions_nearest_sentence_is_not_highlighted_as_a_quote():
    related = [{"n": 1, "document_id": "d", "title": "Study", "quote": "All had nephritis.", "passage": PASSAGE}]
    html = render.sources_html([{"question": "q", "answer": {"refused": True, "citations": related}}])
    assert "<mark>" not in html
    assert '<span class="sc-near"' in html and ">All had nephritis.</span>" in html
    stated = render.sources_html([{"question": "q", "answer": {"refused": False, "citations": related}}])
    assert "<mark>All had nephritis.</mark>" in stated and "sc-near" not in stated
