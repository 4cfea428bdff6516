"""Raw text -> clean text, plus the metadata found in it (title, date, source, DOI, authors).

Scraped pages carry menus, breadcrumbs, banners, legal notices and sentences broken across
lines. The rules here are general: they look at the shape of lines and paragraphs (short
link-like lines before the article, `A > B > C` trails, `Key: value` header lines, notices made of
legal vocabulary, e-mail lines) and never at the words of one particular site.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from ftfy.fixes import fix_latin_ligatures

from ingest.byline import byline_names

BULLET = re.compile(r"^\s*[•·●▪◦‣∙]\s*")
BREADCRUMB = re.compile(r"(\s(>|»|›|/)\s.*){2,}")
HEADER_FIELD = re.compile(
    r"^(?P<key>last[ -]?update[d]?|updated|published(?: on)?|date|posted(?: on)?|source|author|by|url)"
    r"\s*[:：]\s*(?P<value>.{1,120}|(?:https?://|www\.)\S{1,2000})$",
    re.IGNORECASE,
)
# The lookbehind starts a match only where a run of address characters starts: without it a
# long word with no "@" costs time quadratic in its length (a 1 MB word took hours).
EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+\.[\w.-]+")
URL = re.compile(r"https?://\S+|\bwww\.\S+", re.IGNORECASE)
CALL_TO_ACTION = re.compile(r"\b(visit|click|subscribe|follow us|sign up|download (our|the) app)\b", re.IGNORECASE)
DOI = re.compile(r"\b10\.\d{4,9}/[^\s\"'<>]+")
BYLINE = re.compile(r"^[Bb]y\s+(?P<value>[A-Z][\w.'’-]*(?:\s+[A-Z][\w.'’-]*){0,3}(?:\s*(?:,|and|&)\s*.{1,80})?)$")
# Buttons and share bars: a short line that is a verb of the page's UI, e.g. "Share this article"
UI_ACTION = re.compile(
    r"^(share|print|email|e-mail|tweet|save|bookmark|follow|download|comment|reply|like)"
    r"(\s+(this|the|on|via|to|us|a|friend|article|page|story|post|pdf|link|comments?|facebook|twitter|x|linkedin"
    r"|whatsapp|email|e-mail))*$",
    re.IGNORECASE,
)
# Between the labels of a bar of buttons: a wide gap, a bar or dot, or a colon ("Share:  Facebook")
UI_SEPARATOR = re.compile(r"\s{2,}|\s[|·•]\s|:\s+")
# A heading that introduces a list of links to other pages ("Related articles", "Most read")
LINK_LIST_HEADING = re.compile(
    r"^(related|recommended|popular|trending|most (read|popular|viewed|shared)|more (from|in|on|stories|articles|news)"
    r"|you (may|might) also (like|enjoy)|read (more|next)|see also|latest (news|posts|articles|stories))\b",
    re.IGNORECASE,
)
# A cookie notice: cookies plus the vocabulary of a consent banner
COOKIE = re.compile(r"\bcookies?\b", re.IGNORECASE)
CONSENT = re.compile(
    r"\b(website|site|browser|browsing|experience|consent|accept|agree|preferences|settings|got it|ok)\b",
    re.IGNORECASE,
)
UI_LINES = {
    "contact us",
    "contact",
    "home",
    "menu",
    "search",
    "login",
    "log in",
    "sign in",
    "sign up",
    "register",
    "subscribe",
    "share",
    "print",
    "email",
    "e-mail",
    "next",
    "previous",
    "back to top",
    "read more",
    "related articles",
    "related posts",
    "advertisement",
    "skip to content",
    "skip to main content",
    "cookie settings",
    "accept cookies",
    "follow us",
    "newsletter",
    "top",
    "facebook",
    "twitter",
    "x",
    "linkedin",
    "whatsapp",
    "reddit",
    "copy link",
}
LEGAL = [
    r"\bwarrant(?:y|ies)\b",
    r"\bdisclaim",
    r"\bcopyright\b|©",
    r"all rights reserved",
    r"terms of (?:use|service)",
    r"privacy (?:policy|statement)",
    r"\bcookies?\b",
    r"information purposes only",
    r"plagiari",
    r"infring",
    r"(?:does not|doesn't|do not) (?:necessarily )?represent",
    r"\bcontact us\b",
    r"please (?:send|write|contact|email)",
    r"unsubscribe",
    r"\bopinion of\b",
    r"(?:english|machine) version of",
    r"originally (?:written |published )?in (?:the )?\w+ language",
    r"\breprint",
    r"liab(?:le|ility)",
]
LEGAL_RE = [re.compile(p, re.IGNORECASE) for p in LEGAL]
GENERIC_AUTHORS = {"user", "admin", "administrator", "editor", "staff", "internet", "unknown", "anonymous", "guest"}
CITED_AUTHORS = re.compile(
    r"((?:[A-Z][\w'’-]+(?: [A-Z][\w'’-]+)?, (?:[A-Z]\.\s?-?)+,?\s*){2,}|"
    r"(?:[A-Z][\w'’-]+, (?:[A-Z]\.\s?-?)+,?\s*)+et al\.?)"
)
MONTHS = {
    m: i
    for i, m in enumerate(
        [
            "january",
            "february",
            "march",
            "april",
            "may",
            "june",
            "july",
            "august",
            "september",
            "october",
            "november",
            "december",
        ],
        start=1,
    )
}
MONTHS.update({name[:3]: number for name, number in list(MONTHS.items())})
TERMINAL = '.!?:;"”’)]'
# A line that is a date and nothing else, perhaps labelled ("Updated March 21, 2020", "2009-10-07")
DATE_TEXT = (
    r"(?:[a-z]+day,?\s+)?(?P<date>\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|[a-z]{3,9}\.? \d{1,2}(?:st|nd|rd|th)?,? \d{4}"
    r"|\d{1,2} [a-z]{3,9}\.? \d{4})(?:,?\s+\d{1,2}:\d{2}(?:\s*[ap]\.?m\.?)?)?"
)
DATE_LINE = re.compile(
    r"^(?:(?:first |last )?(?:published|posted|updated|revised|issued|dated|date)(?: on)?\s*[:：]?\s*)?"
    rf"{DATE_TEXT}\.?$",
    re.IGNORECASE,
)
# A dateline: who or where, then the date ("Oncology News Desk | 14 April 2023", "By Jane Doe, 3 June 2022")
DATELINE = re.compile(rf"^(?P<lead>.{{1,80}}?)\s*[|·•,–—]\s*{DATE_TEXT}$", re.IGNORECASE)
# Where a document names itself: its title, byline and date are within its first lines
TOP_LINES = 12


@dataclass
class CleanText:
    """Clean text (paragraphs separated by blank lines) and the metadata found in it."""

    text: str
    title: str = ""
    date: str = ""
    source: str = ""
    doi: str = ""
    authors: list[str] = field(default_factory=list)


def normalize(text: str) -> str:
    """Unicode NFC, one kind of newline and space, no zero-width or control characters."""
    text = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n")
    # A typeset ligature ("ﬁ" in "Uniﬁed") is two letters; only these are expanded, so an exponent
    # ("10⁶") or a footnote mark ("$320¹") keeps the form that says what it is.
    text = fix_latin_ligatures(text)
    text = text.replace("\u00a0", " ").replace("\t", " ").replace("\f", "\n\n")
    text = re.sub(r"[\u00ad\u200b-\u200d\u2060\ufeff\ufffe]", "", text)
    return "".join(ch for ch in text if ch == "\n" or ord(ch) >= 32)


def words(line: str) -> int:
    return len(line.split())


def is_prose(paragraph: str) -> bool:
    """A paragraph of running text rather than a menu item, label or heading."""
    return words(paragraph) >= 12


def is_menu_item(line: str) -> bool:
    return words(line) <= 3 and not line.rstrip().endswith(tuple(TERMINAL)) and not DOI.search(line)


def is_ui_line(line: str) -> bool:
    """Buttons or labels of the page ("Share", "Print this page", "Sign in    Register", "Share
    this article:  Facebook  Twitter"), not text."""
    if words(line) > 12 or line.rstrip().endswith(tuple(TERMINAL)) or not line[:1].isupper():
        return False
    items = [re.sub(r"[^\w\s-]", "", item).strip().lower() for item in UI_SEPARATOR.split(line)]
    items = [item for item in items if item]
    return bool(items) and all(item in UI_LINES or UI_ACTION.match(item) for item in items)


def is_link_bar(line: str) -> bool:
    """A row of three or more short links separated by bars or dots: 'About | Contact | Careers'."""
    items = [item.strip() for item in re.split(r"\s[|·•]\s", line)]
    return len(items) >= 3 and all(0 < words(item) <= 4 and not item.endswith(".") for item in items)


def is_link_list(lines: list[str]) -> bool:
    """A block headed 'Related articles' (or the like) followed only by short link titles."""
    return (
        len(lines) >= 2
        and bool(LINK_LIST_HEADING.match(lines[0]))
        and words(lines[0]) <= 6
        and all(words(line) <= 12 and not line.endswith(tuple(TERMINAL)) for line in lines[1:])
    )


def is_cookie_notice(paragraph: str) -> bool:
    return bool(COOKIE.search(paragraph) and CONSENT.search(COOKIE.sub("", paragraph))) and words(paragraph) <= 80


def legal_score(paragraph: str) -> int:
    return sum(1 for pattern in LEGAL_RE if pattern.search(paragraph))


def is_boilerplate(paragraph: str) -> bool:
    """Legal notices, contact lines, calls to action and bare UI labels."""
    bare = re.sub(r"[^\w\s-]", "", paragraph).strip().lower()
    if bare in UI_LINES or (words(paragraph) <= 3 and bare.endswith(" logo")):
        return True
    score = legal_score(paragraph)
    if EMAIL.search(paragraph) and (score >= 1 or words(paragraph) <= 25):
        return True
    if URL.search(paragraph) and CALL_TO_ACTION.search(paragraph) and words(paragraph) <= 30:
        return True
    if is_cookie_notice(paragraph):
        return True
    return score >= 2


def join_lines(lines: list[str]) -> str:
    """Join the hard-wrapped lines of one paragraph back into running text."""
    out = ""
    for line in lines:
        if not out:
            out = line
        elif re.search(r"[a-z]-$", out) and line[:1].islower():
            out = out[:-1] + line  # a word hyphenated at the end of a line
        elif out.endswith(("-", "/")) or line[:1] in ",.;:)]":
            out += line
        else:
            out += " " + line
    return repair_links(out)


def repair_links(text: str) -> str:
    """Mend URLs and DOIs that a line break split after a dot: 'https://doi. org/10. 1038/x'."""
    previous = None
    while previous != text:
        previous = text
        text = re.sub(r"((?:https?://|www\.)\S*\.)\s+(?=[a-z0-9])", r"\1", text)
        text = re.sub(r"\b(10\.)\s+(\d{4,9}/)", r"\1\2", text)
    return text


def split_paragraph_lines(block: list[str], top_lines: int = 0) -> list[list[str]]:
    """Split a block into paragraphs where a line is a list item or a heading, not a wrapped line.
    Among the document's first lines (the block's first `top_lines`) a URL, a date or a byline on
    its own line is a paragraph of its own, never the end of the title above it."""
    paragraphs: list[list[str]] = []
    # a byline starts a paragraph (it may wrap onto the next line); a URL or a date is one
    alone = [
        i < top_lines and bool(re.fullmatch(URL.pattern, line, re.IGNORECASE) or date_line(line))
        for i, line in enumerate(block)
    ]
    named = [i < top_lines and bool(byline_names(line)) for i, line in enumerate(block)]
    starts = [alone[i] or (named[i] and not (i > 0 and named[i - 1])) for i in range(len(block))]
    for i, line in enumerate(block):
        starts_item = bool(re.match(r"^([-*+]|\d+[.)]|#+)\s", line)) or starts[i] or (i > 0 and alone[i - 1])
        prev = paragraphs[-1][-1] if paragraphs else ""
        prev_is_heading = (
            prev
            and len(prev) < 60
            and words(prev) <= 8
            and not prev.endswith(tuple(TERMINAL + ",-"))
            and prev[:1].isupper()
            and line[:1].isupper()
            and len(block) > 2
        )
        if not paragraphs or starts_item or prev_is_heading or prev.startswith("#"):
            paragraphs.append([line])
        else:
            paragraphs[-1].append(line)
    return paragraphs


def parse_date(value: str) -> str:
    """An ISO date (YYYY-MM-DD) from the common ways pages write one, or ''."""
    value = value.strip()
    m = re.search(r"\b(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})\b", value)
    if m:
        year, month, day = (int(x) for x in m.groups())
    else:
        m = re.search(r"\b([A-Za-z]{3,9})\.? (\d{1,2})(?:st|nd|rd|th)?,? (\d{4})\b", value)
        if m and m.group(1).lower() in MONTHS:
            month, day, year = MONTHS[m.group(1).lower()], int(m.group(2)), int(m.group(3))
        else:
            m = re.search(r"\b(\d{1,2}) ([A-Za-z]{3,9})\.? (\d{4})\b", value)
            if not (m and m.group(2).lower() in MONTHS):
                return ""
            day, month, year = int(m.group(1)), MONTHS[m.group(2).lower()], int(m.group(3))
    if not (1 <= month <= 12 and 1 <= day <= 31 and 1000 <= year <= 2999):
        return ""
    return f"{year:04d}-{month:02d}-{day:02d}"


def date_line(line: str) -> str:
    """The ISO date of a line that is a date alone ("2009-10-07", "Updated March 21, 2020"), or ''."""
    m = DATE_LINE.match(" ".join(line.split()))
    return parse_date(m["date"]) if m else ""


def clean(raw: str, title_hint: str = "", scraped: bool = True) -> CleanText:
    """Clean one text and collect the metadata it carries. The rules for a page's menus apply to
    `scraped` text (txt, md, html) only: short lines of a PDF or DOCX are its own content."""
    meta: dict[str, str] = {}
    crumbs: list[str] = []
    paragraphs: list[str] = []
    top: dict[str, list[str]] = {}  # the byline and date lines found among the first lines
    seen_lines = 0
    blocks = re.split(r"\n\s*\n", normalize(raw))
    for block in blocks:
        lines = [line for line in (BULLET.sub("", line).strip() for line in block.splitlines()) if line]
        top_lines = max(0, TOP_LINES - seen_lines)  # how many of this block's lines are near the top
        _read_top(lines[:top_lines], top)
        seen_lines += len(lines)
        if is_link_list(lines):
            continue
        kept = []
        before_article = not any(is_prose(p) for p in paragraphs)
        for line in lines:
            field_match = HEADER_FIELD.match(line)
            if field_match and words(line) <= 12:
                meta.setdefault(field_match["key"].lower().split()[0], field_match["value"].strip())
                continue
            byline = BYLINE.match(line) if before_article and words(line) <= 12 else None
            if byline and not line.endswith(tuple(TERMINAL)):
                meta.setdefault("by", byline["value"].split(",")[0].strip())
                continue
            if is_ui_line(line) or is_link_bar(line):
                continue
            if BREADCRUMB.search(line) and not line.endswith("."):
                crumbs.append(re.split(r"\s(?:>|»|›|/)\s", line)[-1].strip())
                continue
            kept.append(line)
        # Menus: two or more link-like lines before the article begins
        if before_article and scraped:
            if sum(is_menu_item(line) for line in kept) >= 2:
                kept = [line for line in kept if not is_menu_item(line)]
        for group in split_paragraph_lines(kept, top_lines=top_lines):
            paragraph = join_lines(group)
            if paragraph and not is_boilerplate(paragraph):
                paragraphs.append(paragraph)

    paragraphs = _join_broken_paragraphs(_drop_header_noise(paragraphs) if scraped else paragraphs)
    title = _find_title(title_hint, paragraphs, crumbs)
    paragraphs = _dedupe_title(paragraphs, title)
    text = "\n\n".join(paragraphs)

    doi_match = DOI.search(text)
    doi = doi_match.group(0).rstrip(".,;)]") if doi_match else ""
    date = ""
    for key in ("published", "posted", "date", "last", "updated"):
        if key in meta and (date := parse_date(meta[key])):
            break
    date = date or next(iter(top.get("date", [])), "")
    source = next((m for m in (URL.search(meta.get(k, "")) for k in ("url", "source")) if m), None)
    source_url = source.group(0).rstrip(".,;)") if source else (f"https://doi.org/{doi}" if doi else "")
    return CleanText(
        text=text,
        title=title,
        date=date,
        source=source_url,
        doi=doi,
        authors=_authors(text, meta, top.get("authors", [])),
    )


def _read_top(lines: list[str], top: dict[str, list[str]]) -> None:
    """Note the first byline and the first date line among a block of the document's first lines.
    A byline may wrap over the lines of its block, so the block read as one line counts too."""
    if "date" not in top and (found := next(filter(None, map(_dateline, lines)), "")):
        top["date"] = [found]
    if "authors" not in top:
        bylines = [byline_names(line) for line in lines]
        if 2 <= len(lines) <= 6:
            bylines.append(byline_names(join_lines(lines)))
        if best := max(bylines, key=len, default=[]):
            top["authors"] = best


def _dateline(line: str) -> str:
    """The ISO date of a date line or of a dateline of at most ten words before the date, or ''."""
    m = DATELINE.match(" ".join(line.split()))
    return date_line(line) or (parse_date(m["date"]) if m and words(m["lead"]) <= 10 else "")


def _drop_header_noise(paragraphs: list[str]) -> list[str]:
    """Before the first prose paragraph, drop lone menu-like lines (a site name, a menu label).

    When every line before the article is that short, the last one is its heading ("Chapter 3",
    "Renal physiology") and is kept."""
    first_prose = next((i for i, p in enumerate(paragraphs) if is_prose(p)), len(paragraphs))
    if first_prose == len(paragraphs):  # no article for menus to surround: a short note or a list
        return [p for p in paragraphs if words(p) > 1 or p.startswith("#")]
    head = [p for p in paragraphs[:first_prose] if not is_menu_item(p) or p.startswith("#")]
    if not head and 0 < first_prose < len(paragraphs):
        head = [paragraphs[first_prose - 1]]
    return head + paragraphs[first_prose:]


def _join_broken_paragraphs(paragraphs: list[str]) -> list[str]:
    """Join a paragraph to the one before when a blank line fell inside a sentence."""
    out: list[str] = []
    for p in paragraphs:
        after_comma = out and out[-1].endswith(",") and p[:1].isdigit()  # "January 23," + "2023."
        if (
            out
            and (p[:1].islower() or after_comma)
            and not URL.match(p)  # a link on its own line, not the rest of a sentence
            and not out[-1].endswith(tuple(TERMINAL))
            and not out[-1].startswith("#")
        ):
            out[-1] = join_lines([out[-1], p])
        else:
            out.append(p)
    return out


def _find_title(hint: str, paragraphs: list[str], crumbs: list[str]) -> str:
    if hint.strip():
        return " ".join(hint.split())
    for p in paragraphs[:5]:
        if p.startswith("#"):
            return p.lstrip("#").strip()
    for crumb in crumbs:
        # a breadcrumb often shortens the title: the heading it begins is the whole title
        heading = next((p for p in paragraphs[:5] if p.startswith(crumb) and words(p) <= 40), "")
        if heading and not heading.endswith("."):
            return heading
        if any(p.startswith(crumb) for p in paragraphs):
            return crumb
    for p in paragraphs[:5]:
        if title := _title_line(p):
            return title
    return ""


def _title_line(paragraph: str) -> str:
    """The paragraph as a title, or '' when it cannot be one: a sentence, a URL, a date alone, a
    byline, a salutation ("To Whom it May Concern:"), text that starts in lower case (a label or
    a sentence's tail, "the same") or that is mostly not words ("( p < C O N S , f i"). A URL
    after the title ("Title https://...") is cut off."""
    head, *rest = URL.split(paragraph)
    if any(part.strip(" .,;:()[]") for part in rest):
        return ""  # a URL inside the text: a sentence, not a title
    title = head.rstrip(" ,;:-–—|") if rest else paragraph  # "Title," before its URL
    return (
        title
        if 2 <= words(title) <= 40
        and not title.endswith(tuple(".,;:"))
        and not title[:1].islower()
        and sum(bool(re.search(r"[^\W\d_]{2}", w)) for w in title.split()) * 2 >= words(title)
        and not date_line(title)
        and not byline_names(title)
        and not HEADER_FIELD.match(title)
        else ""
    )


def _dedupe_title(paragraphs: list[str], title: str) -> list[str]:
    """Keep the title once: pages often repeat it in a banner and again as the heading."""
    out, seen = [], False
    for p in paragraphs:
        if title and p.lstrip("# ").strip() == title:
            if seen:
                continue
            seen = True
        out.append(p)
    return out


def _authors(text: str, meta: dict[str, str], byline: list[str]) -> list[str]:
    """The document's own authors: a byline among its first lines, an "Author:" field or a "By"
    line; else those of the paper it reports on ('Surname, I., Surname, I. et al.')."""
    if byline:
        return byline
    field_value = meta.get("author") or meta.get("by") or ""
    if field_value and field_value.strip().lower() not in GENERIC_AUTHORS:
        return [a.strip() for a in re.split(r",| and ", field_value) if a.strip()]
    m = CITED_AUTHORS.search(text)
    if m:
        found = re.findall(r"([A-Z][\w'’-]+(?: [A-Z][\w'’-]+)?, (?:[A-Z]\.\s?-?)+)", m.group(0))
        return [a.strip() for a in found]
    return []
