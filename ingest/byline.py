"""A byline -> the personal names in it.

Papers and articles list their authors in one line near the title, in a few shapes:
"Zejiang Shen¹ (✉), Ruochen Zhang², and Weining Li⁵", "Kin, Nathalie; Guerard, Pauline",
"David L. Swerdlow, MD1; Lyn Finelli, DrPH, MS2", "Authors: ...", "By ...". The rules look at the
shape of a personal name (two to five capitalised words or initials, name particles such as "van"
or "de" inside), never at a list of known names.
"""

from __future__ import annotations

import itertools
import re
import unicodedata

LABEL = re.compile(r"^(?:authors?\s*[:：]|(?:written\s+)?by\b[:：]?)\s*", re.IGNORECASE)
# Affiliation and correspondence marks after a name: digits, superscripts, daggers, an envelope
MARKS = re.compile(r"\([^()\w]{0,3}\)|[\d⁰¹²³⁴⁵⁶⁷⁸⁹*∗⋆†‡§¶‖#✉\ufffd]+")
# Degrees and titles, as written ("MA" is a degree, "Ma" a surname)
DEGREES = {
    "MD", "PhD", "DrPH", "DPhil", "MS", "MSc", "MPH", "MBBS", "MBChB", "BSc", "BA", "MA", "MBA", "RN", "DVM",
    "PharmD", "FACP", "FRCP", "FRCPC", "Jr", "Sr", "II", "III", "Prof", "Dr",
}  # fmt: skip
PARTICLES = {
    "de",
    "del",
    "della",
    "der",
    "den",
    "di",
    "da",
    "das",
    "do",
    "dos",
    "du",
    "la",
    "le",
    "van",
    "von",
    "ter",
    "e",
    "y",
}
FUNCTION_WORDS = {"the", "of", "for", "in", "on", "at", "to", "with", "from", "a", "an", "or", "is", "are", "our", "we"}
# Words of an affiliation or a heading, which a person's name never holds
NOT_A_NAME = re.compile(
    r"\b(universit\w*|institut\w*|department|dept|school|college|hospital|cent(?:er|re)|laborator\w*|faculty"
    r"|clinic|ministry|society|association|foundation|press|inc|ltd|corporation|group|street|road|avenue"
    r"|review|news|journal|desk|times|magazine|media|report|staff|team|editors?|editorial|network|agency|committee"
    r"|board|council|organi[sz]ation|office|bureau|daily|weekly|gazette|affiliations?|article|information|correspond\w*|e-?mail|contributions?|abstract|introduction|keywords?|summary|contents|chapter|section|figure|table|volume|issue|page)\b",
    re.IGNORECASE,
)
YEAR = re.compile(
    r"\b(?:\d{1,2}(?:st|nd|rd|th)?\s+)?(?:[A-Z][a-z]{2,8}\.?\s+)?(?:\d{1,2}(?:st|nd|rd|th)?,?\s+)?(?:19|20)\d\d\b"
)
HONORIFIC = re.compile(r"^(?:Dr|Prof|Professor|Mr|Mrs|Ms|Mx|Sir|Dame)\.?\s+")
INITIALS = re.compile(r"^(?:[A-Z]\.-?)+$")


def byline_names(line: str) -> list[str]:
    """The personal names of a byline, each as "Given Surname", or [] when `line` is not one.

    A line is a byline when, apart from degrees, at least two of its comma-, semicolon- or
    "and"-separated items are personal names and at most a third are not (a line labelled
    "Authors:" or "By" needs one name)."""
    if len(line) > 1000:
        return []
    labelled = bool(LABEL.match(line))
    text = YEAR.sub("", LABEL.sub("", line, count=1))  # "By Jane Doe, 3 June 2022": the date is no name
    # "Authors: Kin, Nathalie" is one author written surname first
    one = labelled and ";" not in text and text.count(",") == 1 and len(text.split(",")[0].split()) == 1
    items = [_name(item) for item in ([MARKS.sub("", text)] if one else _items(text))]
    items = [item for item in items if item is not None]
    if labelled:  # "By Dr. Jane Doe, Rheumatology Review": the names before the outlet
        items = list(itertools.takewhile(bool, items))
    names = [item for item in items if item]
    # a byline starts with a name: a line that starts with a surname alone is the end of one
    if not items or not items[0] or len(names) < (1 if labelled else 2) or len(items) - len(names) > len(items) // 3:
        return []
    return names


def _items(text: str) -> list[str]:
    """Each author's part of a byline: "Surname, Given" items when semicolons separate them."""
    text = MARKS.sub("", text)
    if ";" in text:
        return [item for item in text.split(";") if item.strip()]
    return [item for item in re.split(r",|\s&\s|\band\b", text) if item.strip()]


def _name(item: str) -> str | None:
    """The personal name in one item ("Swerdlow, David L." or "David L. Swerdlow, MD"), "" when the
    item is no name, None when it is only a degree."""
    parts = [" ".join(part.split()) for part in item.split(",")]
    parts = [part for part in parts if part]
    if not parts or (len(parts) == 1 and _degree(parts[0])):
        return None
    parts = parts[:1] + [part for part in parts[1:] if not _degree(part)]
    name = f"{parts[1]} {parts[0]}" if len(parts) == 2 and _is_name(f"{parts[1]} {parts[0]}") else parts[0]
    name = HONORIFIC.sub("", name)
    return name if len(parts) <= 2 and _is_name(name) else ""


def _degree(part: str) -> bool:
    return all(word.strip(".") in DEGREES for word in part.split())


def _is_name(text: str) -> bool:
    """Two to five words, each a capitalised word or initials, and particles ("de", "van") inside;
    the last a word."""
    tokens = text.split()
    if not 2 <= len([t for t in tokens if t not in PARTICLES]) <= 5 or NOT_A_NAME.search(text):
        return False
    if INITIALS.match(tokens[-1]) or not _name_word(tokens[0]) or not _name_word(tokens[-1]):
        return False
    for token in tokens:
        if token.lower() in FUNCTION_WORDS:
            return False
        if not (_name_word(token) or INITIALS.match(token) or token in PARTICLES):
            return False
    return any(ch.islower() for ch in text)


def _name_word(token: str) -> bool:
    """A capitalised word of letters, perhaps with an apostrophe or hyphen ("O’Flaherty", "Boily-Larouche")."""
    # an accent that a PDF set as a character of its own ("O˘guz") is part of the word
    return token[:1].isupper() and all(
        ch.isalpha() or ch in "'’.-" or unicodedata.category(ch) in ("Sk", "Mn") for ch in token
    )
