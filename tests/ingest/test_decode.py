"""Text files in every encoding users save them in, read through the pipeline as a user adds them."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest import pipeline
from ingest.load import LoadError, load

TEXT = "Der Preis betrug 15,50 € für das Café; the naïve résumé of Jürgen — “quoted” — was 3 µL.\n"


def read(path: Path, settings):
    return pipeline.read_document(path, settings, path.read_bytes(), pipeline.document_id(path, settings.corpus))


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("utf8.txt", TEXT.encode("utf-8")),
        ("utf8-bom.md", TEXT.encode("utf-8-sig")),
        ("utf16-bom.txt", TEXT.encode("utf-16")),
        ("utf16-le.txt", TEXT.encode("utf-16-le")),
        ("utf16-be.md", TEXT.encode("utf-16-be")),
        ("utf32-bom.txt", TEXT.encode("utf-32")),
        ("utf32-le.txt", TEXT.encode("utf-32-le")),
        ("utf32-be.txt", TEXT.encode("utf-32-be")),
        ("windows-1252.md", TEXT.replace("µ", "u").encode("cp1252")),
    ],
)
def test_every_encoding_is_read_as_the_same_text(tmp_path, settings, name, data):
    path = tmp_path / name
    path.write_bytes(data)
    expected = TEXT.strip() if "1252" not in name else TEXT.strip().replace("µ", "u")
    assert read(path, settings).text == expected


def test_latin1_umlauts_in_markdown(tmp_path, settings):
    path = tmp_path / "notes.md"
    path.write_bytes("# Prüfung\n\nDie Schüler können die Aufgabe lösen, weil sie geübt haben.\n".encode("latin-1"))
    assert "Die Schüler können die Aufgabe lösen, weil sie geübt haben." in read(path, settings).text


def test_html_in_utf16_and_in_its_declared_charset(tmp_path, settings):
    body = "<p>Der Preis betrug 15,50 €, und die Kundin war sehr zufrieden mit dem schönen Kuchen.</p>"
    utf16 = tmp_path / "page16.html"
    utf16.write_bytes(f"<html><head><title>Kuchen</title></head><body>{body}</body></html>".encode("utf-16"))
    declared = tmp_path / "page1252.html"
    declared.write_bytes(
        f'<html><head><meta charset="windows-1252"><title>Kuchen</title></head><body>{body}</body></html>'.encode(
            "cp1252"
        )
    )
    for path in (utf16, declared):
        assert "Der Preis betrug 15,50 €, und die Kundin war sehr zufrieden" in read(path, settings).text


def test_text_garbled_by_a_wrong_decoding_is_repaired(tmp_path, settings):
    path = tmp_path / "career.txt"
    garbled = "He played for Watford in 1986–1990 and was called ‘the best’ by the fans.".encode().decode("cp1252")
    assert "â€“" in garbled
    path.write_text(garbled, encoding="utf-8")
    assert read(path, settings).text == "He played for Watford in 1986–1990 and was called ‘the best’ by the fans."


@pytest.mark.parametrize(
    "data",
    [
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00",
        b"\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x03\x00>\x00",
        bytes(range(256)) * 4,
    ],
)
def test_binary_data_is_still_refused(data):
    with pytest.raises(LoadError, match="binary"):
        load(Path("data.txt"), data, max_bytes=1_000_000)
