"""Tables -> text a reader can quote: one paragraph per row, each value with its column's name.

A row of a price list becomes "Bananas: Price 1.89, In stock 6." so that one row is one sentence,
found by its words and quotable as the answer. The column names are also kept once, as
"Columns: Item, Price, In stock." The same rule serves Markdown and HTML tables (the HTML reader
hands tables over as Markdown) and DOCX tables.
"""

from __future__ import annotations

import re

# A Markdown delimiter row: "---|:---:|---" with or without outer bars
DELIMITER = re.compile(r"^\s*\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$")
TERMINAL = ".!?:;"


def cells_of(line: str) -> list[str]:
    """The cells of one Markdown table line, outer bars removed."""
    line = line.strip()
    if line.startswith("|"):
        line = line[1:]
    if line.endswith("|"):
        line = line[:-1]
    return [cell.strip() for cell in re.split(r"(?<!\\)\|", line)]


def _column_name(cell: str) -> str:
    return re.sub(r"^[^\w(]+", "", cell).strip()


def _sentence(text: str) -> str:
    text = " ".join(text.split())
    return text if not text or text.endswith(tuple(TERMINAL)) else text + "."


def looks_like_header(row: list[str], body: list[list[str]]) -> bool:
    """A first row of names: every cell filled, none a number, and there are rows below it."""
    filled = [c for c in row if c.strip()]
    return bool(body) and len(filled) == len(row) >= 2 and not any(re.fullmatch(r"[\d.,%$€£\s-]+", c) for c in row)


def rows_to_text(rows: list[list[str]], header: bool | None = None) -> str:
    """Paragraphs for a table given as rows of cell texts; `header` says whether the first row
    names the columns (None: decide by `looks_like_header`)."""
    rows = [[" ".join(cell.split()) for cell in row] for row in rows]
    rows = [row for row in rows if any(row)]
    if not rows:
        return ""
    if header is None:
        header = looks_like_header(rows[0], rows[1:])
    names = [_column_name(cell) for cell in rows[0]] if header else []
    paragraphs = [_sentence("Columns: " + ", ".join(n for n in names if n))] if header else []
    for row in rows[1:] if header else rows:
        values = list(dict.fromkeys(cell for cell in row if cell))  # merged cells repeat their text
        if header and len(values) > 1 and row[0]:
            pairs = []
            for name, cell in zip(names[1:], row[1:], strict=False):
                if cell and cell != row[0]:
                    pairs.append(f"{name} {cell}" if name and name != cell else cell)
            paragraphs.append(_sentence(f"{row[0]}: " + ", ".join(dict.fromkeys(pairs))))
        else:
            paragraphs.append(_sentence(" | ".join(values)))
    return "\n\n".join(p for p in paragraphs if p)


def markdown_tables(text: str) -> str:
    """`text` with each Markdown pipe table (a line of cells, a delimiter row, rows) replaced by
    its rows as paragraphs."""
    lines = text.split("\n")
    out: list[str] = []
    i = 0
    while i < len(lines):
        if "|" in lines[i] and i + 1 < len(lines) and DELIMITER.match(lines[i + 1]) and "|" in lines[i + 1]:
            rows = [cells_of(lines[i])]
            i += 2
            while i < len(lines) and "|" in lines[i] and lines[i].strip():
                rows.append(cells_of(lines[i]))
                i += 1
            out += ["", rows_to_text(rows, header=True), ""]
        elif re.match(r"^\|.*\|\s*$", lines[i].strip()):  # a row without a header (an HTML layout table)
            cells = [cell for cell in cells_of(lines[i]) if cell]
            key_value = len(cells) == 2 and cells[0].endswith(":")
            out.append(" ".join(cells) if key_value else " | ".join(dict.fromkeys(cells)))
            i += 1
        else:
            out.append(lines[i])
            i += 1
    return "\n".join(out)
