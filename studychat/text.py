"""Words of a question or passage as the lexical index sees them (Porter stems, no stop words)."""

from __future__ import annotations

import re
import sqlite3
import threading
from collections.abc import Iterable
from functools import lru_cache

STOP_WORDS = frozenset(
    """a about above after again against all am an and any are as at be because been before being below
    between both but by can could did do does doing down during each few for from further had has have
    having he her here hers herself him himself his how i if in into is it its itself just me more most my
    myself no nor not now of off on once only or other our ours ourselves out over own same she should so
    some such than that the their theirs them themselves then there these they this those through to too
    under until up very was we were what when where which while who whom why will with would you your
    yours yourself yourselves tell show give describe explain say said also many much please know kind
    s t d ll re ve m don doesn didn isn aren wasn weren hasn haven hadn wouldn shouldn couldn""".split()
)
WORD = re.compile(r"\w+", re.UNICODE)
# What an ended sentence ends with: a full stop, a question or exclamation mark, a colon, a closing
# quotation mark or a closing bracket. A line that ends with none (a heading, a line of a scraped
# page without full stops) is not ended. (`chat.sentences.headings` writes the same marks inline
# until its next refit.)
END_MARKS = (".", "!", "?", ":", '"', "”", ")")
# Letters that look alike and mean the same, folded as the index's unicode61 tokenizer folds them:
# the micro sign is the Greek mu (lower() already folds the Kelvin, ohm and angstrom signs; a minus
# sign and a hyphen both separate words). Typeset ligatures are their letters. Only search terms
# are folded; the stored text and its quotes keep the document's characters.
LOOK_ALIKE = str.maketrans(
    {
        "\u00b5": "\u03bc",
        "\ufb00": "ff",
        "\ufb01": "fi",
        "\ufb02": "fl",
        "\ufb03": "ffi",
        "\ufb04": "ffl",
        "\ufb06": "st",
    }
)


# The lexical index's tokenizer (studychat.store): words are compared by the stems it makes.
TOKENIZER = "porter unicode61"

_local = threading.local()


def _stemmer() -> sqlite3.Connection:
    """This thread's stemmer: an in-memory FTS5 table with the index's tokenizer. Stemming with
    SQLite's own Porter stemmer, not a Python one, makes a question's terms the index's terms
    ("rheumatology" is "rheumatolog" in both; a Python Porter stemmer says "rheumatologi")."""
    connection = getattr(_local, "stemmer", None)
    if connection is None:
        connection = _local.stemmer = sqlite3.connect(":memory:")
        connection.executescript(
            f"CREATE VIRTUAL TABLE words USING fts5(word, tokenize='{TOKENIZER}');"
            "CREATE VIRTUAL TABLE stems USING fts5vocab(words, 'instance');"
        )
    return connection


STEMS_KEPT = 200_000  # words whose stems are remembered; past that the memory starts afresh
_stems: dict[str, str] = {}


def stems(words: list[str]) -> list[str]:
    """The index's stem of each word. Words not stemmed before go to SQLite together, in one
    round trip; stems are remembered (shared by the server's threads, so read once, then used)."""
    known = {w: _stems.get(w) for w in dict.fromkeys(words)}
    missing = [w for w, found in known.items() if found is None]
    if missing:
        connection = _stemmer()
        connection.execute("DELETE FROM words")
        connection.executemany("INSERT INTO words(rowid, word) VALUES (?, ?)", enumerate(missing, 1))
        first: dict[int, str] = {}
        for row, term in connection.execute("SELECT doc, term FROM stems ORDER BY doc, offset"):
            first.setdefault(row, term)  # a word the tokenizer splits in two keeps its first part
        fresh = {w: first.get(i, w.lower()) for i, w in enumerate(missing, 1)}
        known.update(fresh)
        if len(_stems) + len(fresh) > STEMS_KEPT:
            _stems.clear()
        _stems.update(fresh)
    return [known[w] for w in words]


def stem(word: str) -> str:
    """The index's stem of one word."""
    return stems([word])[0]


REMEMBERED_TEXT = 2000  # characters: sentences and passages have their words remembered, documents not


def content_words(text: str) -> list[str]:
    """The lower-case words of `text` that carry meaning, in order."""
    return list(_content_words(text) if len(text) <= REMEMBERED_TEXT else _words(text))


@lru_cache(maxsize=8192)
def _content_words(text: str) -> tuple[str, ...]:
    """`content_words` of a short text, remembered: an answer reads the same passages' sentences
    several times (at most 8,192 texts of 2,000 characters, some 100 MB, and far less in practice)."""
    return _words(text)


def _words(text: str) -> tuple[str, ...]:
    return tuple(w for w in WORD.findall(text.translate(LOOK_ALIKE).lower()) if w not in STOP_WORDS)


@lru_cache(maxsize=8192)
def content_word_set(text: str) -> frozenset[str]:
    """The distinct content words of `text` (no stems): a cheap fingerprint for near-duplicates,
    remembered for the chunks that come back question after question."""
    return frozenset(WORD.findall(text.translate(LOOK_ALIKE).lower())) - STOP_WORDS


def terms_among(text: str, wanted: Iterable[str]) -> set[str]:
    """The terms of `text` that are among `wanted`. Porter stemming rewrites only a word's ending,
    so only words that begin as a wanted term begins are stemmed: most of a sentence never is."""
    prefixes = tuple({t[:2] for t in wanted})
    if not prefixes:
        return set()
    return set(stems([w for w in content_words(text) if w.startswith(prefixes)])).intersection(wanted)


def terms(text: str) -> list[str]:
    """Content-word stems of `text`, in order, as the FTS5 porter tokenizer indexes them."""
    return stems(content_words(text))
