"""A question's misspelt words, read as the words the documents use.

A word of the question that is neither everyday English (the embedding model's whole-word
vocabulary) nor a term any chunk holds is read as the nearest word the documents do hold, at
most `Settings.spelling_edits` edits away (Damerau-Levenshtein distance with adjacent
transpositions, as `rapidfuzz` computes it): "pateints" -> "patients", "univercity" ->
"university", "tocilizumb" -> "tocilizumab". A word with no such neighbour is left as asked: it
may name something the documents never mention, which the answer then says. Acronyms are left
alone, and so are words shorter than `SHORTEST`, where one edit turns most words into others.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rapidfuzz import process
from rapidfuzz.distance import OSA

from studychat.store import Store
from studychat.text import stem, stems

LETTERS = re.compile(r"[^\W\d_]+")
SHORTEST = 4  # letters: "wat" may be "what", "was" or "eat"; one edit from a four-letter word is rarer


@dataclass(frozen=True)
class Spelling:
    """The question as read, and each (asked, read as) word that was changed, in order."""

    text: str
    changed: tuple[tuple[str, str], ...] = ()

    def note(self) -> str:
        """What the answer says about the reading ('Read "pateints" as "patients".'), or ""."""
        if not self.changed:
            return ""
        return "Read " + ", ".join(f"“{a}” as “{b}”" for a, b in self.changed) + "."


def read_spelling(question: str, store: Store, vocabulary: frozenset[str], edits: int) -> Spelling:
    """`question` with each misspelt word replaced by the documents' word (module docstring).
    `vocabulary`: the everyday words (`Embedder.vocabulary`); `edits`: the most edits (0: none)."""
    if edits <= 0:
        return Spelling(question)
    found = [m for m in LETTERS.finditer(question) if len(m[0]) >= SHORTEST and not m[0].isupper()]
    asked = [m[0].lower() for m in found]
    indexed, _ = store.document_frequencies(stems(asked))
    unknown = {w for w in asked if w not in vocabulary and stem(w) not in indexed}
    if not unknown:
        return Spelling(question)
    read = {w: _nearest(w, store, vocabulary, edits) for w in unknown}
    parts, changed, at = [], [], 0
    for m in found:
        word = read.get(m[0].lower())
        if word:
            word = word.capitalize() if m[0][0].isupper() else word
            parts += [question[at : m.start()], word]
            changed.append((m[0], word))
            at = m.end()
    return Spelling("".join([*parts, question[at:]]), tuple(changed))


def _nearest(word: str, store: Store, vocabulary: frozenset[str], edits: int) -> str | None:
    """The word the documents hold that `word` most likely misspells: of the everyday words and
    the index's terms at most `edits` edits away (and beginning with the same letter, as nearly all
    typing errors do), the fewest edits, then the one most chunks hold; None when there is none."""
    near = {
        w
        for w, _, _ in process.extract(
            word, [v for v in vocabulary if v[0] == word[0]], scorer=OSA.distance, score_cutoff=edits, limit=None
        )
    }
    term = stem(word)
    near |= {t for t in store.terms_like(term) if OSA.distance(term, t) <= edits}
    if not near:
        return None
    ordered = sorted(near)
    held, _ = store.document_frequencies(stems(ordered))
    ranked = [(OSA.distance(word, w), -held.get(s, 0), w) for w, s in zip(ordered, stems(ordered), strict=True)]
    best = min((r for r in ranked if r[1] < 0), default=None)
    return best[2] if best else None
