"""A tentative answer (the closest statement the documents hold) as users meet it: in the API's
JSON, in the chat and in the widget it reads as tentative and looks muted, never like a stated one.

The offline answerer decides when to answer tentatively; here a real server over the real seeded
store answers one question tentatively, quoting the passage the real answerer cites for it, and
every other question as the real answerer does."""

from __future__ import annotations

import json
from dataclasses import replace

import httpx
import pytest

from chat.chain import Chain
from studychat.schema import TENTATIVE, Answer
from tests.app.conftest import Live, served

pytestmark = pytest.mark.slow

CLOSEST = "Did the first patient have side effects?"  # answered tentatively
STATED = "What side effects did the patients have?"  # answered as a stated answer
CONFIDENCE = 0.4137
# The outcome each of the two questions is given here: (tentative, confidence)
FORCED = {CLOSEST: (True, CONFIDENCE), STATED: (False, 0.93)}


class TentativeChain(Chain):
    """The real chain, but `CLOSEST` is answered with the closest statement and `STATED` as a
    stated answer: the first passage the real answer cites, quoted as each, with its confidence.
    (Which outcome the real answerer gives them depends on the fitted model.)"""

    def answer(self, question: str, history: list[dict] | None = None, document_ids: list[str] | None = None) -> Answer:
        answer = super().answer(question, history, document_ids)
        if question not in FORCED:
            return answer
        tentative, confidence = FORCED[question]
        cited = replace(answer.citations[0], n=1)
        text = f"{TENTATIVE} {cited.quote} [1]" if tentative else f"{cited.quote} [1]"
        return Answer(text=text, citations=[cited], tentative=tentative, confidence=confidence)

    def stream(self, question: str, history: list[dict] | None = None, document_ids: list[str] | None = None):
        if question not in FORCED:
            yield from super().stream(question, history, document_ids)
            return
        answer = self.answer(question, history, document_ids)
        yield answer.text
        yield answer


@pytest.fixture(scope="module")
def tentative_live(tmp_path_factory, embedder) -> Live:
    def chain(services) -> Chain:
        return TentativeChain(services.settings, services.store, services.embedder, models=services.chain.models)

    with served(tmp_path_factory.mktemp("tentative"), embedder, chain=chain) as running:
        yield running


# The colour of an element's text and of what it is drawn on: the first ancestor (or itself)
# whose background is not transparent, white when none is.
COLOURS = """e => {
  let at = e;
  while (at && getComputedStyle(at).backgroundColor.match(/^rgba\\(.*, 0\\)$|^transparent$/)) at = at.parentElement;
  return [getComputedStyle(e).color, at ? getComputedStyle(at).backgroundColor : "rgb(255, 255, 255)"];
}"""


def contrast(element) -> float:
    """The WCAG 2 contrast ratio of an element's text on its background (1 to 21; 4.5 is the
    least for body text at level AA)."""

    def luminance(css: str) -> float:
        channels = [int(v) / 255 for v in css[css.index("(") + 1 : css.index(")")].split(",")[:3]]
        linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    text, background = sorted(map(luminance, element.evaluate(COLOURS)))
    return (background + 0.05) / (text + 0.05)


def streamed_answer(client: httpx.Client, question: str) -> dict:
    """The `answer` event of /api/ask/stream."""
    name = None
    with client.stream("POST", "/api/ask/stream", json={"question": question}) as reply:
        for line in reply.iter_lines():
            if line.startswith("event: "):
                name = line[7:]
            elif line.startswith("data: ") and name == "answer":
                return json.loads(line[6:])
    raise AssertionError("the stream sent no answer")


def test_the_api_says_an_answer_is_tentative_and_how_confident(tentative_live: Live):
    with httpx.Client(base_url=tentative_live.url, timeout=60) as client:
        tentative = client.post("/api/ask", json={"question": CLOSEST}).json()
        assert tentative["tentative"] is True and tentative["refused"] is False
        assert tentative["confidence"] == 0.414  # rounded to 3 decimals
        assert tentative["answer"].startswith(TENTATIVE + " ")
        assert tentative["citations"][0]["quote"] in tentative["answer"]
        streamed = streamed_answer(client, CLOSEST)  # the stream's answer also carries `sentences`
        assert {key: streamed[key] for key in tentative} == tentative

        stated = client.post("/api/ask", json={"question": STATED}).json()
        assert stated["tentative"] is False and stated["refused"] is False
        assert TENTATIVE not in stated["answer"] and "confidence" in stated

        described = client.get("/openapi.json").json()["components"]["schemas"]["AskResponse"]
        assert {"tentative", "confidence"} <= set(described["required"])
        assert TENTATIVE in described["properties"]["tentative"]["description"]


@pytest.mark.browser
def test_the_chat_shows_a_tentative_answer_muted_and_a_stated_one_plainly(page, tentative_live: Live):
    page.goto(tentative_live.url)
    for turn, question in enumerate([STATED, CLOSEST], start=1):
        page.locator("#question textarea").fill(question)
        page.locator("#ask").click()
        page.locator(f"#sources .sc-turn[data-turn='{turn}'] .sc-source").first.wait_for()

    stated, tentative = page.locator("#chat [data-testid='bot']").all()
    assert tentative.inner_text().strip().startswith(TENTATIVE)
    assert stated.locator(".sc-tentative").count() == 0 and TENTATIVE not in stated.inner_text()
    # Muted: greyer text than the stated answer's, set off by a rule on its left, yet as easy to
    # read as body text must be (it is an answer, not a disabled control).
    colour = "e => getComputedStyle(e).color"
    assert tentative.locator(".sc-tentative p").first.evaluate(colour) != stated.locator("p").first.evaluate(colour)
    assert contrast(tentative.locator(".sc-tentative p").first) >= 4.5
    assert tentative.locator(".sc-tentative").evaluate("e => getComputedStyle(e).borderLeftStyle") == "solid"

    latest, earlier = page.locator("#sources .sc-turn[data-turn='2']"), page.locator("#sources .sc-turn[data-turn='1']")
    assert latest.locator("h3").inner_text() == "Closest passages (the documents may not answer this)"
    assert "confidence 0.41" in latest.locator(".sc-searched").inner_text()
    assert earlier.locator("h3").inner_text() == "Sources"


@pytest.mark.browser
def test_the_widget_shows_a_tentative_answer_muted(page, tentative_live: Live, host_sites):
    script = f'<script src="{tentative_live.url}/widget.js" defer></script>'
    site = host_sites({"/": ("text/html; charset=utf-8", f"<!doctype html><h1>Lab news</h1>{script}", {})})
    page.goto(site + "/")
    page.locator("[data-studychat] .launcher").click()
    panel = page.locator("[data-studychat] .panel")
    bubbles = panel.locator(".msg.bot")  # the greeting first, then one per answer
    for n, question in enumerate([STATED, CLOSEST], start=1):
        panel.locator("input").fill(question)
        panel.locator("form button").click()
        bubbles.nth(n).locator(".source").first.wait_for()

    stated, tentative = bubbles.nth(1), bubbles.nth(2)
    assert tentative.inner_text().startswith(TENTATIVE)
    assert "tentative" in tentative.get_attribute("class") and "tentative" not in stated.get_attribute("class")
    looks = "e => [getComputedStyle(e).color, getComputedStyle(e).borderLeftWidth]"
    assert tentative.evaluate(looks) == ["rgb(107, 114, 128)", "3px"]  # grey text, a rule on the left
    assert stated.evaluate(looks) == ["rgb(31, 41, 55)", "1px"]
    assert contrast(tentative.locator("p").first if tentative.locator("p").count() else tentative) >= 4.5
    assert tentative.locator(".sources h3").text_content() == "Closest passages (maybe not an answer)"
    assert "confidence 0.41" in tentative.locator(".searched").inner_text()
    assert stated.locator(".sources h3").text_content() == "Sources"
