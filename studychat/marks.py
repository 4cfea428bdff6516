"""A document's own reference marks, shown so that nobody takes them for StudyChat's citation marks.

Documents carry their own footnote and reference marks ("... on 26 June 1968,[1] and grew up",
"[2][3]", "[4, 5]", "[6–8]"). Quoted as they are, they read like StudyChat's `[n]`, which points
to a source card. The rule, applied wherever StudyChat shows quoted document text (the answer
text, the sources panel, the widget): a document's bracketed numeric mark is written with
superscript digits in parentheses, "⁽¹⁾", "⁽²⁾⁽³⁾", "⁽⁴,⁵⁾", "⁽⁶⁻⁸⁾", so it still reads as a
reference mark of the document while `[n]` stays StudyChat's alone. The stored `quote` and
`passage` keep the document's own text.

The widget (`web/widget.js`, `docMarks`) applies the same rule in the browser.
"""

from __future__ import annotations

import re

SUPERSCRIPT = str.maketrans("0123456789-–—", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻⁻⁻")
# "[1]", "[12]", "[1, 2]", "[1,3-5]", "[6–8]": numbers of up to three digits, as StudyChat's own
# marks have ("[2022]" is a year, not a mark), separated by commas, semicolons or dashes.
DOC_MARK = re.compile(r"\[(\d{1,3}(?:\s*[,;\-–—]\s*\d{1,3})*)\]")


def doc_mark(numbers: str) -> str:
    """One mark's inside ("1", "1, 2", "6–8") as the shown mark: "⁽¹⁾", "⁽¹,²⁾", "⁽⁶⁻⁸⁾"."""
    return "⁽" + re.sub(r"\s+", "", numbers).translate(SUPERSCRIPT) + "⁾"


def doc_marks(text: str) -> str:
    """`text` (a document's sentence or passage) with each of its bracketed numeric reference
    marks shown as superscript: "June 1968,[1] and" -> "June 1968,⁽¹⁾ and".

    Pure and idempotent; everything else in the text, offsets aside, is left as it is. Apply it to
    document text *before* StudyChat's own `[n]` marks are added, never to an answer that has them.
    """
    return DOC_MARK.sub(lambda m: doc_mark(m.group(1)), text)
