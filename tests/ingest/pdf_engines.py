"""Which PDF text engine: pypdf, pypdfium2 and pdfminer.six on the real PDFs of `../shared/realfiles/`.

`python -m tests.ingest.pdf_engines` prints the README's table. Each engine's text goes through
the same cleaning (`ingest.clean`) and sentence splitter, then:

- facts: the README's expected texts of these PDFs found in the text (whitespace aside), and of
  those that must be one sentence (or start one), how many are: a sentence glued to a running
  header or an author block is not;
- odd words: words (2+ letters) that this engine alone produces on a page, summed: words split
  ("L ayout") or joined ("thedefinition") where the other two engines agree on something else;
- speed: seconds for all files, best of 3 runs, in one process.
"""

from __future__ import annotations

import io
import re
import time
from collections.abc import Callable

from ftfy.fixes import fix_latin_ligatures

from ingest.chunk import sentence_spans
from ingest.clean import clean
from tests.ingest.realfiles import EXPECTED, FOLDER, whole_sentence

LICENCES = {"pypdf": "BSD-3-Clause", "pypdfium2": "Apache-2.0 / BSD-3-Clause (PDFium)", "pdfminer.six": "MIT"}


def pages_pypdf(data: bytes) -> list[str]:
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(data))
    if reader.is_encrypted:
        reader.decrypt("")
    return [page.extract_text() or "" for page in reader.pages]


def pages_pdfium(data: bytes) -> list[str]:
    import pypdfium2

    document = pypdfium2.PdfDocument(data, password="")
    try:
        return [document[i].get_textpage().get_text_bounded() for i in range(len(document))]
    finally:
        document.close()


def pages_pdfminer(data: bytes) -> list[str]:
    from ingest.pdf import read_pdf

    return read_pdf(data, 2000).pages


ENGINES: dict[str, Callable[[bytes], list[str]]] = {
    "pypdf": pages_pypdf,
    "pypdfium2": pages_pdfium,
    "pdfminer.six": pages_pdfminer,
}


def words(text: str) -> set[str]:
    text = re.sub(r"-\s*\n\s*", "", fix_latin_ligatures(text))  # a word hyphenated at a line end is one
    return {w.lower() for w in re.findall(r"[A-Za-zÀ-ɏ]{2,}", text)}


def measure() -> dict[str, dict[str, float]]:
    files = [e for e in EXPECTED if e.name.endswith(".pdf") and e.ingested]
    data = {e.name: (FOLDER / e.name).read_bytes() for e in files}
    texts: dict[str, dict[str, list[str]]] = {}
    raw: dict[str, dict[str, list[str]]] = {}
    figures: dict[str, dict[str, float]] = {}
    for engine, read in ENGINES.items():
        best = float("inf")
        for _ in range(3):
            started = time.perf_counter()
            pages = {name: read(blob) for name, blob in data.items()}
            best = min(best, time.perf_counter() - started)
        raw[engine] = pages
        texts[engine] = {name: [clean(p, scraped=False).text for p in pages[name]] for name in data}
        found = whole = wanted_whole = 0
        for e in files:
            text = "\n\n".join(texts[engine][e.name])
            flat = " ".join(text.split())
            sentences = [" ".join(text[s:t].split()) for s, t in sentence_spans(text)]
            for fact in e.facts:
                found += fact in flat
                if e.sentence:
                    wanted_whole += 1
                    whole += any(whole_sentence(fact, s, e.starts) for s in sentences)
        figures[engine] = {
            "facts": found,
            "facts_total": sum(len(e.facts) for e in files),
            "whole": whole,
            "whole_total": wanted_whole,
            "seconds": best,
        }
    for engine in ENGINES:
        odd = 0
        for name in data:
            for i, page in enumerate(texts[engine][name]):
                others = set().union(
                    *(
                        words(texts[o][name][i]) | words(raw[o][name][i])
                        for o in ENGINES
                        if o != engine and i < len(texts[o][name])
                    )
                )
                odd += len(words(page) - others)
        figures[engine]["odd_words"] = odd
    return figures


def table(figures: dict[str, dict[str, float]]) -> str:
    base = figures["pypdf"]["seconds"]
    lines = [
        "| Engine | Facts found | Sentences whole | Odd words | Seconds (8 PDFs) | Licence |",
        "|---|---|---|---|---|---|",
    ]
    for engine, f in figures.items():
        lines.append(
            f"| {engine} | {f['facts']:.0f}/{f['facts_total']:.0f} | {f['whole']:.0f}/{f['whole_total']:.0f} "
            f"| {f['odd_words']:.0f} | {f['seconds']:.2f} ({f['seconds'] / base:.1f}x) | {LICENCES[engine]} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    print(table(measure()))
