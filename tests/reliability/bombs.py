"""Small files that cost a reader a lot: a PDF object that refers to itself (an endless loop), a
PDF stream that inflates to gigabytes, a page that renders to gigabytes, a .docx whose zip
headers lie about its size. Each is made here in well under a second and under a megabyte."""

from __future__ import annotations

import struct
import zlib

from tests.documents import pdf_file

FONT = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"


def _page(contents: bytes, media_box: bytes = b"[0 0 612 792]", resources: bytes = b"<< /Font << /F1 3 0 R >> >>"):
    return b"<< /Type /Page /Parent 2 0 R /MediaBox " + media_box + b" /Resources " + resources + contents + b" >>"


def self_referencing_pdf(where: str) -> bytes:
    """A one-page PDF whose object 6 is `6 0 R`, used as the page's /Contents or as the /Length
    of its content stream."""
    text = b"BT /F1 12 Tf 72 720 Td (A page of text.) Tj ET"
    if where == "contents":
        page, stream = _page(b" /Contents 6 0 R"), b"<< /Length %d >>\nstream\n" % len(text) + text + b"\nendstream"
    else:
        page, stream = _page(b" /Contents 5 0 R"), b"<< /Length 6 0 R >>\nstream\n" + text + b"\nendstream"
    return pdf_file(
        [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [4 0 R] /Count 1 >>", FONT, page, stream]
        + [b"6 0 R"]
    )


class _Bits:
    """A deflate bit stream: fields least significant bit first, Huffman codes most significant first."""

    def __init__(self) -> None:
        self.value, self.count = 0, 0

    def field(self, value: int, width: int) -> None:
        self.value |= value << self.count
        self.count += width

    def code(self, value: int, width: int) -> None:
        self.field(int(f"{value:0{width}b}"[::-1], 2), width)

    def bytes(self) -> bytes:
        return self.value.to_bytes((self.count + 7) // 8, "little")


def zlib_of_zeros(size: int) -> bytes:
    """A zlib stream that inflates to about `size` zero bytes, made without compressing them: one
    fixed-Huffman block of a literal 0 and then copies of 258 bytes at distance 1 (13 bits each;
    eight copies are exactly 13 bytes, so the middle of the stream is one 13-byte unit repeated)."""
    bits = _Bits()
    bits.field(1, 1)  # the last block
    bits.field(1, 2)  # fixed Huffman codes
    bits.code(0b00110000, 8)  # literal 0
    for _ in range(16):
        bits.code(0b11000101, 8)  # length 258 (code 285)
        bits.code(0, 5)  # distance 1
    bits.code(0, 7)  # end of block
    short = bits.bytes()
    # from bit 11 on the copies repeat every 104 bits; byte 2 starts a whole unit of them
    units = max(0, (size - 1) // (258 * 8) - 2)
    deflated = short[:2] + short[2:15] * units + short[2:]
    inflated = 1 + 258 * 8 * (units + 2)
    return b"\x78\x01" + deflated + struct.pack(">I", ((inflated % 65521) << 16) | 1)


def inflating_pdf(gigabytes: float) -> bytes:
    """A one-page PDF whose content stream, flate-encoded twice, inflates to `gigabytes` GB of
    zero bytes; the file is tens of kilobytes."""
    packed = zlib.compress(zlib_of_zeros(int(gigabytes * 1024**3)), 9)
    stream = b"<< /Length %d /Filter [/FlateDecode /FlateDecode] >>\nstream\n" % len(packed) + packed + b"\nendstream"
    return pdf_file(
        [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [4 0 R] /Count 1 >>", FONT]
        + [_page(b" /Contents 5 0 R"), stream]
    )


def huge_page_pdf(points: int = 200_000) -> bytes:
    """A PDF of one page `points` x `points` points (about 7 km square) covered by a 1-pixel
    image: no text, so a reader renders it for OCR (at 300 dpi, 7e11 pixels)."""
    draw = b"q %d 0 0 %d 0 0 cm /Im1 Do Q" % (points, points)
    image = b"<< /Type /XObject /Subtype /Image /Width 1 /Height 1 /ColorSpace /DeviceGray /BitsPerComponent 8"
    return pdf_file(
        [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [4 0 R] /Count 1 >>", FONT]
        + [
            _page(b" /Contents 5 0 R", b"[0 0 %d %d]" % (points, points), b"<< /XObject << /Im1 6 0 R >> >>"),
            b"<< /Length %d >>\nstream\n" % len(draw) + draw + b"\nendstream",
            image + b" /Length 1 >>\nstream\n\x80\nendstream",
        ]
    )
