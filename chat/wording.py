"""Different words for the same thing: an acronym and the words it stands for, a lay word and
the clinical one, a word and its misspelling.

Clinical texts define an acronym once ("cytokine release syndrome (CRS)") and then use it alone,
and say "adverse events" where a reader asks about "side effects". So the answerer reads a
sentence holding either form as holding both.
"""

from __future__ import annotations

import re
from functools import lru_cache

ACRONYM = re.compile(r"\(([A-Z][A-Za-z]*[A-Z][A-Za-z]*)\)")  # "(CRS)", "(BLyS)"
SMALL_WORDS = r"(?:and|of|for|the|in|on|to|&)"
GAP = rf"(?:[\s-]+{SMALL_WORDS}\b)*[\s-]+"  # between the words of a long form
BEFORE = 120  # characters before "(ACRONYM)" searched for its long form

# Words and phrases that name the same thing in lay and in clinical English, each matched also
# with a plural ending ("kidneys").
SAME_THING = [
    ("side effect", "adverse event", "adverse effect", "adverse reaction", "toxicity", "toxicities"),
    ("kidney", "renal"),
    ("heart", "cardiac"),
    ("lung", "pulmonary"),
    ("liver", "hepatic"),
    ("skin", "cutaneous"),
    ("fever", "pyrexia", "febrile"),
    ("death", "died", "die", "dying", "mortality", "fatal"),
    ("medicine", "medication", "drug"),
    ("cancer", "tumour", "tumor", "malignancy", "malignancies"),
    ("child", "children", "paediatric", "pediatric"),
    ("woman", "women", "female"),
    ("man", "men", "male"),
    ("people", "participant", "patient", "adult"),
    ("take part", "took part", "taking part", "enrolled", "enrolment", "enrollment", "participated", "recruited"),
    (
        "stay in hospital",
        "hospital stay",
        "admitted",
        "admission",
        "hospitalised",
        "hospitalized",
        "hospitalisation",
        "hospitalization",
        "inpatient",
    ),
    ("relapse", "relapsed", "recurrence"),
    ("approved", "approval", "licensed", "authorised", "authorized", "authorisation", "authorization"),
    ("doctor", "physician", "clinician"),
    ("high blood pressure", "hypertension"),
    ("pregnancy", "pregnant"),
]
_GROUP_OF = {form: group for group in SAME_THING for form in group}
SAME_THING_FORMS = re.compile(
    r"(?<!\w)("
    + "|".join(re.escape(f).replace(r"\ ", r"\s+") for f in sorted(_GROUP_OF, key=len, reverse=True))
    + r")(?:s|es)?(?!\w)",
    re.IGNORECASE,
)


@lru_cache(maxsize=4096)
def initials(acronym: str, capitals: bool = False) -> re.Pattern:
    """Words whose first letters spell the acronym's capitals, small words allowed between them:
    "Food and Drug Administration" (FDA), "B-lymphocyte stimulator" (BLyS). With `capitals`, each
    word must start with a capital, as a proper name's do."""
    letters = [c for c in acronym if c.isupper()]
    starts = [c if capitals else f"[{c}{c.lower()}]" for c in letters]
    return re.compile(r"(?<!\w)" + GAP.join(rf"{s}\w*" for s in starts) + r"(?!\w)")


def definitions(text: str) -> dict[str, str]:
    """The acronyms `text` defines, each with the words it stands for: {"CRS": "cytokine release
    syndrome"} from "cytokine release syndrome (CRS)"."""
    found = {}
    for match in ACRONYM.finditer(text):
        acronym = match.group(1)
        before = text[max(0, match.start() - BEFORE) : match.start()].rstrip()
        # the shortest run of words ending just before the bracket that spells the acronym
        long_form = re.search(rf"(?:{initials(acronym).pattern})$", before)
        if long_form:
            found.setdefault(acronym, long_form.group(0))
    return found


def other_forms(noun: str) -> set[str]:
    """The noun in the singular and the plural, with the other words for the same thing in both:
    "people" -> people, participant(s), patient(s), adult(s)."""
    noun = noun.lower()
    forms = {_singular(f) for f in (noun, *_GROUP_OF.get(noun, ()), *_GROUP_OF.get(_singular(noun), ()))}
    return forms | {_plural(f) for f in forms}


def _singular(noun: str) -> str:
    if noun.endswith("ies") and len(noun) > 4:
        return noun[:-3] + "y"
    if noun.endswith(("ses", "xes", "ches", "shes")):
        return noun[:-2]
    return noun[:-1] if noun.endswith("s") and not noun.endswith("ss") and len(noun) > 3 else noun


def _plural(noun: str) -> str:
    if noun.endswith("y") and noun[-2:-1] not in "aeiou":
        return noun[:-1] + "ies"
    return noun + ("es" if noun.endswith(("s", "x", "ch", "sh")) else "s")


def with_other_forms(text: str, defined: dict[str, str]) -> str:
    """`text`, followed by the other forms of what it says, for matching words: the long form of
    each defined acronym it uses, the acronym of each long form it spells out, and the other
    words for each lay or clinical term (`SAME_THING`). "CRS" then also reads as "cytokine release
    syndrome", and "adverse events" as "side effects"."""
    extra = list(_same_things(text))
    if defined:
        used = set(_acronyms(tuple(defined)).findall(text))
        lower = text.lower()
        for acronym, long_form in defined.items():
            if acronym in used:
                extra.append(long_form)
            elif long_form.lower() in lower:
                extra.append(acronym)
    return f"{text} {' '.join(extra)}" if extra else text


@lru_cache(maxsize=65536)
def _same_things(text: str) -> tuple[str, ...]:
    """Every form of each `SAME_THING` group `text` holds a form of (sentences recur between
    questions, so this is remembered)."""
    found = {" ".join(m.lower().split()) for m in SAME_THING_FORMS.findall(text)}
    return tuple(form for group in dict.fromkeys(_GROUP_OF[f] for f in found) for form in group)


@lru_cache(maxsize=1024)
def _acronyms(acronyms: tuple[str, ...]) -> re.Pattern:
    return re.compile(r"(?<!\w)(" + "|".join(map(re.escape, acronyms)) + r")(?!\w)")


def spelled_out(acronym: str, text: str) -> bool:
    """Whether `text` names what the acronym stands for in capitalised words ("Food and Drug
    Administration" for FDA), though it never uses the acronym itself."""
    return initials(acronym, capitals=True).search(text) is not None


def one_edit_apart(a: str, b: str) -> bool:
    """Whether `b` is `a` with one letter changed, added or dropped (or `a` itself): a misspelling."""
    if abs(len(a) - len(b)) > 1:
        return False
    if len(a) > len(b):
        a, b = b, a
    i = next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), len(a))
    return a[i + 1 :] == b[i + 1 :] if len(a) == len(b) else a[i:] == b[i + 1 :]
