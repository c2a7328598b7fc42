"""Bytes to text for fetched documents: BOM and declared charsets, HTML sniffing, binary refusal.

Pure helpers for the articles stage; nothing here parses markup.
"""

from __future__ import annotations

import codecs
import re

from huntbrief.errors import ParseError

_SNIFF_BYTES = 4096
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_MAGIC = (
    (b"%PDF-", "PDF document"),
    (b"PK\x03\x04", "ZIP archive (or Office document)"),
    (b"\xd0\xcf\x11\xe0", "legacy Office document"),
    (b"\x89PNG", "PNG image"),
    (b"GIF8", "GIF image"),
    (b"\xff\xd8\xff", "JPEG image"),
    (b"\x1f\x8b", "gzip archive"),
    (b"MZ", "Windows executable"),
    (b"\x7fELF", "ELF executable"),
    (b"Rar!", "RAR archive"),
    (b"7z\xbc\xaf", "7-Zip archive"),
)
_CHARSET = re.compile(rb"""<meta[^>]{0,512}?charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]{1,40})""", re.I)
_XML_ENCODING = re.compile(rb"""^\s*<\?xml[^>]{0,200}?encoding\s*=\s*["']([A-Za-z0-9_.:-]{1,40})""", re.I)
_HTML_STRONG = re.compile(r"<(?:!doctype\s+html|html|head|body)\b", re.I)
_HTML_TAG = re.compile(
    r"</?(?:p|div|span|a|br|table|tr|td|th|ul|ol|li|pre|code|h[1-6]|article|section|main|em|strong|b|i|img"
    r"|meta|title)\b[^<>]{0,300}>",
    re.I,
)
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")


def decode_markup(data: str | bytes, location: str | None = None) -> str:
    """Decode page bytes (BOM, then meta/XML charset, else UTF-8 with replacement) to text.

    Raises ParseError at `location` when the input is binary (a PDF, an image, NUL-laden junk).
    """
    if isinstance(data, bytes):
        kind = _magic(data)
        if kind:
            raise ParseError(f"not HTML or text: the content is a {kind} ({len(data)} bytes)", location)
        text = _decode(data)
    else:
        text = data
    if _looks_binary(text):
        raise ParseError("not HTML or text: the content is binary (NUL/control bytes)", location)
    return text.lstrip("\ufeff")


def is_probably_html(data: bytes | str) -> bool:
    """True when the start of `data` looks like HTML markup (not plain text, not a binary file)."""
    if isinstance(data, bytes):
        if _magic(data):
            return False
        head = _decode(data[:_SNIFF_BYTES])
    else:
        head = data[:_SNIFF_BYTES]
    if _looks_binary(head):
        return False
    return bool(_HTML_STRONG.search(head)) or len(_HTML_TAG.findall(head, 0, _SNIFF_BYTES)) >= 2


def _magic(data: bytes) -> str | None:
    start = data[:16].lstrip(b"\t\n\r ")
    return next((kind for magic, kind in _MAGIC if start.startswith(magic)), None)


def _decode(data: bytes) -> str:
    for bom, codec in _BOMS:
        if data.startswith(bom):
            return data.decode(codec, errors="replace")
    declared = _declared_codec(data[:_SNIFF_BYTES])
    if declared:
        return data.decode(declared, errors="replace")
    return data.decode("utf-8", errors="replace")


def _declared_codec(head: bytes) -> str | None:
    """The codec named by a meta charset or XML declaration, mapped as browsers do; None if unusable."""
    found = _CHARSET.search(head) or _XML_ENCODING.search(head)
    if not found:
        return None
    try:
        name = codecs.lookup(found.group(1).decode("ascii")).name
    except LookupError:
        return None
    if name in ("latin-1", "iso8859-1", "ascii"):
        return "cp1252"  # WHATWG: these labels mean windows-1252
    if name.startswith(("utf-16", "utf-32")):
        return "utf-8"  # a readable ASCII declaration cannot be UTF-16/32 text
    return name


def _looks_binary(text: str) -> bool:
    """NULs, many control characters, or mostly undecodable bytes in the first few kilobytes."""
    sample = text[: _SNIFF_BYTES * 2]
    if not sample:
        return False
    if "\x00" in sample:
        return True
    controls = len(_CONTROL.findall(sample))
    return controls > len(sample) // 20 or sample.count("\ufffd") > len(sample) // 4
