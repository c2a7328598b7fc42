"""`not_text`: a clear message for input that is not text or HTML, naming the file type when known."""

from __future__ import annotations

from pathlib import Path

import pytest

from huntbrief.app.inputs import not_text, read_input
from huntbrief.errors import ConfigError


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "a PDF document"),
        (b"PK\x03\x04\x14\x00\x06\x00", "ZIP archive"),
        (b"MZ\x90\x00\x03\x00\x00\x00", "Windows executable"),
        (b"\x7fELF\x02\x01\x01", "ELF executable"),
        (b"\x89PNG\r\n\x1a\n", "PNG image"),
        (b"\x1f\x8b\x08\x00", "gzip"),
        (bytes(range(1, 32)) * 40, "binary data"),
        (b"text\x00with a NUL", "binary data"),
    ],
)
def test_non_text_is_named(data: bytes, words: str) -> None:
    assert words in not_text(data)


@pytest.mark.parametrize(
    "data",
    [
        b"Plain text with tabs\tand\r\nnew lines.",
        "UTF-8 \u00e9t\u00e9 \u2014 \u4e2d\u6587".encode(),
        "\ufeffUTF-16 text".encode("utf-16"),
        b"<html><body>hi</body></html>",
        b"",
    ],
)
def test_text_passes(data: bytes) -> None:
    assert not_text(data) == ""


def test_read_input_refuses_pdf_with_location(tmp_path: Path) -> None:
    target = tmp_path / "report.txt"
    target.write_bytes(b"%PDF-1.4\n...")
    with pytest.raises(ConfigError, match="PDF document") as caught:
        read_input(str(target))
    assert caught.value.location == str(target)


def test_read_input_decodes_utf16(tmp_path: Path) -> None:
    target = tmp_path / "report.txt"
    target.write_bytes("C2: evil[.]com".encode("utf-16"))
    assert "evil[.]com" in read_input(str(target)).text
