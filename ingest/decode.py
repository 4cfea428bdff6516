"""Bytes of a text file (txt, md, html) -> text, whatever encoding it was saved in.

The order of evidence: a byte-order mark (UTF-8, UTF-16, UTF-32); strict UTF-8 (most files, and
the only encoding in which a valid non-ASCII file is almost never another one by chance); the
charset an HTML page declares; then the charset-normalizer detector, which also recognises UTF-16
and UTF-32 without a byte-order mark. What none of them reads as text is refused as binary.
Text garbled upstream by a wrong decoding ("1986â€“1990") is repaired by ftfy.
"""

from __future__ import annotations

import codecs
import re

import ftfy

from ingest.errors import LoadError

BOMS = [  # UTF-32 first: its little-endian mark begins like UTF-16's
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
]
META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([\w.:-]+)""", re.IGNORECASE)
# Legacy single-byte code pages of Latin-script text. For a short file the detector cannot tell
# them apart ("naïve" is "naďve" in cp1250); Windows-1252, the most common, wins a tie.
LATIN_PAGES = re.compile(r"^(cp125[0-8]|latin_1|iso8859_\d+|mac_\w+|cp437|cp775|cp85\d)$")
# Only encoding repairs: quotes, widths and ligatures are left as the author wrote them here.
FIXES = ftfy.TextFixerConfig(
    unescape_html=False,
    uncurl_quotes=False,
    fix_character_width=False,
    fix_latin_ligatures=False,
    fix_line_breaks=False,
    normalization=None,
    explain=False,
)


def decode(data: bytes, html: bool = False) -> str:
    """The text of `data`; `html` also reads the page's own `<meta charset>`.

    Raises `LoadError` for data that is no text in any encoding (an image, an archive).
    """
    text = _decode(data, html)
    if "\x00" in text:
        raise LoadError("file holds binary data (NUL bytes), not text")
    controls = sum(1 for ch in text if ord(ch) < 32 and ch not in "\n\r\t\f")
    if controls > max(8, len(text) // 100):
        raise LoadError("file holds binary data (control characters), not text")
    return text if text.isascii() else ftfy.fix_text(text, FIXES)  # ASCII holds no mojibake


def _decode(data: bytes, html: bool) -> str:
    for bom, encoding in BOMS:
        if data.startswith(bom):
            try:
                return data[len(bom) :].decode(encoding)
            except UnicodeDecodeError:
                name = encoding.upper()
                raise LoadError(f"file starts like {name} text but is not valid {name}") from None
    if b"\x00" not in data:  # UTF-16 or UTF-32 of ASCII text is valid UTF-8 too, NULs and all
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            pass
    if html and (declared := META_CHARSET.search(data[:4096])):
        try:
            return data.decode(declared.group(1).decode("ascii"))
        except (LookupError, UnicodeDecodeError):
            pass  # a wrong or unknown declaration: detect instead
    if b"\x00" in data:
        return _wide_unicode(data)
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is None:
        raise LoadError("file holds binary data, not text in any known encoding")
    if LATIN_PAGES.match(best.encoding):
        return _likeliest_latin(data, best.encoding)
    return str(best)


def _likeliest_latin(data: bytes, detected: str) -> str:
    """Of Windows-1252 and the detected code page, the reading with fewer symbols inside words."""
    readings = []
    for encoding in dict.fromkeys(["cp1252", detected]):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        inside_words = len(re.findall(r"(?<=[^\W\d_])[^\w\s](?=[^\W\d_])", text))
        readings.append((inside_words, text))
    return min(readings, key=lambda reading: reading[0])[1]


def _wide_unicode(data: bytes) -> str:
    """UTF-32 or UTF-16 without a byte-order mark, told by where its NUL bytes fall (the high
    bytes of each character); NULs anywhere else mean binary data."""
    if len(data) % 4 == 0 and max(data[3::4], default=0) == 0 and max(data[2::4], default=0) <= 0x10:
        encoding = "utf-32-le"
    elif len(data) % 4 == 0 and max(data[0::4], default=0) == 0 and max(data[1::4], default=0) <= 0x10:
        encoding = "utf-32-be"
    elif len(data) % 2 == 0 and b"\x00" not in data[0::2] and data[1::2].count(0) * 4 >= len(data):
        encoding = "utf-16-le"
    elif len(data) % 2 == 0 and b"\x00" not in data[1::2] and data[0::2].count(0) * 4 >= len(data):
        encoding = "utf-16-be"
    else:
        raise LoadError("file holds binary data (NUL bytes), not text")
    try:
        return data.decode(encoding)
    except UnicodeDecodeError:
        raise LoadError(f"file holds binary data (NUL bytes), not {encoding.upper()} text") from None
