"""The app in Debian Chromium through Playwright: chat with sources, upload, the widget on another
site, and documents with markup shown as text. Saves docs/screenshots/chat.png and widget.png."""

from __future__ import annotations

import functools
import re
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]
sync_api = pytest.importorskip("playwright.sync_api")

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
QUESTION = "What side effects did the patients have?"
MARKUP_TITLE = "Axolotl <script>window.__pwned=1</script> trial report"
MARKUP_DOC = f"""{MARKUP_TITLE}

The axolotl trial used the marker <img src=x onerror="window.__pwned=2"> to tag regenerating limbs.

All twelve axolotls regrew their limbs within forty days of the injury.
"""


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="module")
def host_site(tmp_path_factory, live) -> str:
    """Another site (another port) whose page embeds the widget with one script tag."""
    folder = tmp_path_factory.mktemp("host-site")
    (folder / "index.html").write_text(
        f"""<!doctype html><html><head><meta charset="utf-8"><title>Lab news</title>
<style>body {{ font-family: Georgia, serif; background: #fafaf7; margin: 3rem; color: #222; }}
h1 {{ color: rgb(128, 0, 0); }} button {{ background: lime; }}</style></head>
<body><h1>Lab news</h1><p>Our group reads the latest CAR-T results. Ask the study assistant below.</p>
<script src="{live.url}/widget.js" data-title="Ask about the study" data-colour="#0f766e"
  data-greeting="Hi! Ask me about the CAR-T lupus study." defer></script>
</body></html>"""
    )
    handler = functools.partial(QuietHandler, directory=str(folder))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/index.html"
    server.shutdown()


def unlock(page, token: str) -> None:
    """Enter the admin token in the Documents tab and unlock it; the file picker then shows."""
    page.locator("#admin-token input").fill(token)
    page.locator("#unlock").click()
    page.locator("#upload-results .sc-unlocked").wait_for()


def ask_in_chat(page, question: str) -> None:
    page.locator("#question textarea").fill(question)
    page.locator("#ask").click()


def ask_in_widget(page, host_site: str, question: str):
    """Open the widget on the host page and ask `question`; returns the widget's panel."""
    page.goto(host_site)
    page.locator("[data-studychat] .launcher").click()
    panel = page.locator("[data-studychat] .panel")
    panel.locator("input").fill(question)
    panel.locator("form button").click()
    return panel


def test_chat_answers_with_sources(page, live):
    page.goto(live.url)
    page.get_by_text("Example questions").wait_for()
    page.get_by_text(QUESTION).first.click()  # an example fills the question box
    sync_api.expect(page.locator("#question textarea")).to_have_value(QUESTION)
    page.locator("#ask").click()
    page.locator("#sources .sc-source").first.wait_for()
    answer = page.locator("#chat .message.bot, #chat [data-testid='bot']").last
    assert "fever" in answer.inner_text()
    assert page.locator("#sources mark", has_text="fever").count() == 1
    assert "doi.org/10.1038/s41591-022-02017-5" in page.locator("#sources").inner_html()
    assert "2022-10-02" in page.locator("#sources").inner_text()
    # one card per passage cited, however many of its sentences the answer quotes
    cited = httpx.post(f"{live.url}/api/ask", json={"question": QUESTION}).json()["citations"]
    passages = {(c["document_id"], c["passage"]) for c in cited}
    assert page.locator("#sources .sc-turn[open] .sc-source").count() == len(passages)

    page.wait_for_timeout(500)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "chat.png"))

    link = page.locator("#chat a.cite").last  # a [n] marker opens its passage, quote highlighted
    target = link.get_attribute("href").lstrip("#")
    link.click()
    card = page.locator(f".sc-source:has(#{target}), .sc-source#{target}")  # its card, one per passage
    card.wait_for()
    said = " ".join(answer.inner_text().split())
    assert all(" ".join(m.split()) in said for m in card.locator("mark").all_inner_texts())
    page.wait_for_function(f"document.getElementById('{target}').closest('.sc-source').classList.contains('sc-flash')")
    sync_api.expect(page.locator(f'[data-cite="{target}"] + mark')).to_be_in_viewport()  # its own quote shown

    page.locator("#clear").click()
    page.locator("#sources .sc-source").first.wait_for(state="detached")


def test_upload_in_documents_tab_then_ask(page, live, tmp_path):
    document = tmp_path / "beehive-study.md"
    document.write_text(
        "# Beehive winter study\n\nBeekeepers insulated forty hives during the winter.\n\n"
        "The insulated hives lost a third fewer bees than the open hives by March.\n"
    )
    page.goto(live.url)
    page.get_by_role("tab", name="Documents").click()
    page.get_by_text("needs the admin token").wait_for()
    unlock(page, live.token)
    page.locator("#upload input[type=file]").set_input_files(str(document))
    page.locator("#upload-button").click()
    page.locator("#upload-results .sc-added").wait_for()
    assert "Beehive winter study" in page.locator("#documents").inner_text()

    page.get_by_role("tab", name="Chat").click()
    ask_in_chat(page, "How many fewer bees did the insulated hives lose?")
    page.locator("#sources .sc-source").first.wait_for()
    assert "Beehive winter study" in page.locator("#sources .sc-source").first.inner_text()
    assert "a third fewer bees" in page.locator("#chat").inner_text()

    httpx.delete(f"{live.url}/api/documents/beehive-study.md", headers=live.auth).raise_for_status()


def test_wrong_token_is_refused_in_the_tab(page, live):
    page.goto(live.url)
    page.get_by_role("tab", name="Documents").click()
    page.locator("#admin-token input").fill("not-the-token")
    page.locator("#unlock").click()
    page.locator("#upload-results .sc-refused").wait_for()
    assert "wrong" in page.locator("#upload-results").inner_text()
    assert page.locator("#upload input[type=file]").count() == 0  # no file picker without the token
    # Nor can the page's own upload route be used: it needs the token first.
    stored = page.evaluate(
        """async () => { const form = new FormData(); form.append("files", new Blob(["x"]), "refused.txt");
        return (await fetch("gradio_api/upload", {method: "POST", body: form})).status; }"""
    )
    assert stored == 401
    ids = [d["id"] for d in httpx.get(f"{live.url}/api/documents").json()["documents"]]
    assert "refused.txt" not in ids


def test_widget_on_another_site_asks_and_cites(page, host_site):
    page.goto(host_site)
    launcher = page.locator("[data-studychat] .launcher")
    launcher.click()
    panel = page.locator("[data-studychat] .panel")
    assert "Ask about the study" in panel.locator(".head").inner_text()
    assert "Hi! Ask me about the CAR-T lupus study." in panel.inner_text()
    panel.locator("input").fill(QUESTION)
    panel.locator("form button").click()
    panel.locator(".source mark", has_text="fever").wait_for()
    assert panel.locator(".msg.bot .cite").count() >= 1
    cite = panel.locator(".msg.bot .cite").last  # a number scrolls its own quote into view
    cite.click()
    quote = panel.locator(f'[data-cite="sc-1-{cite.inner_text().strip("[]")}"] + mark')
    sync_api.expect(quote).to_be_in_viewport()
    page.wait_for_timeout(1600)  # the card's flash over before the screenshot
    heading = panel.locator(".sources h3").first.text_content()
    assert "Sources" in heading or "Closest passages" in heading  # a stated or a tentative answer
    # The host page keeps its own look.
    assert page.locator("h1").evaluate("e => getComputedStyle(e).color") == "rgb(128, 0, 0)"
    assert page.locator("body").evaluate("e => getComputedStyle(e).fontFamily") == "Georgia, serif"
    page.wait_for_timeout(300)
    page.screenshot(path=str(SCREENSHOTS / "widget.png"))


def test_markup_in_a_document_is_shown_as_text(page, live, host_site):
    files = {"files": ("axolotl-markup.txt", MARKUP_DOC.encode(), "text/plain")}
    reply = httpx.post(f"{live.url}/api/documents", files=files, headers=live.auth)
    assert reply.status_code == 201, reply.text
    doc_id = reply.json()["results"][0]["document_id"]
    question = "What marker did the axolotl trial use to tag regenerating limbs?"
    try:
        page.goto(live.url)
        ask_in_chat(page, question)
        page.locator("#sources .sc-source").first.wait_for()
        sources = page.locator("#sources").inner_text()
        assert '<img src=x onerror="window.__pwned=2">' in sources
        assert "<script>window.__pwned=1</script>" in sources
        assert "<img src=x onerror" in page.locator("#chat").inner_text()
        assert page.locator("#sources img, #chat img[src='x']").count() == 0
        page.get_by_role("tab", name="Documents").click()
        page.locator("#documents", has_text="Axolotl").wait_for()
        assert MARKUP_TITLE in page.locator("#documents").inner_text()
        assert page.evaluate("window.__pwned") is None

        panel = ask_in_widget(page, host_site, question)
        panel.locator(".source").first.wait_for()
        assert '<img src=x onerror="window.__pwned=2">' in panel.inner_text()
        assert panel.locator("img").count() == 0
        assert page.evaluate("window.__pwned") is None
    finally:
        httpx.delete(f"{live.url}/api/documents/{doc_id}", headers=live.auth)


def test_upload_of_several_papers_shows_progress_with_time_left(covidqa_papers, page, live, tmp_path):
    papers = sorted(covidqa_papers.glob("*.txt"))[:4]
    page.goto(live.url)
    page.get_by_role("tab", name="Documents").click()
    unlock(page, live.token)
    page.locator("#upload input[type=file]").set_input_files([str(p) for p in papers])
    page.locator("#upload-button").click()
    # While the papers are embedded: which files, how far overall, and the time left.
    page.get_by_text(
        re.compile(r"embedding covidqa-\d+\.txt.*: \d+ of \d+ chunks, about \d+ (s|min) left")
    ).first.wait_for(timeout=120_000)
    page.locator("#upload-results .sc-added").first.wait_for(timeout=300_000)
    assert page.locator("#upload-results .sc-added").count() == len(papers)
    for paper in papers:
        httpx.delete(f"{live.url}/api/documents/{paper.name}", headers=live.auth).raise_for_status()


DECLINED = "What is the capital of France?"


def test_a_declined_questions_related_reading_is_not_highlighted_as_an_answer(page, live, host_site):
    page.goto(live.url)
    ask_in_chat(page, DECLINED)
    turn = page.locator("#sources .sc-turn[open]")
    turn.locator(".sc-near").first.wait_for()
    assert "Related passages" in turn.locator("h3").inner_text()
    assert turn.locator("mark").count() == 0  # nothing reads as a quote that answers

    panel = ask_in_widget(page, host_site, DECLINED)
    panel.locator(".source .near").first.wait_for()
    assert "not an answer" in panel.locator(".sources h3").last.inner_text().lower()  # CSS writes it in capitals
    assert panel.locator(".source mark").count() == 0
