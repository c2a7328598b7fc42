"""Read one article for `brief`, `iocs` and `techniques`: a URL, a file, or stdin."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

from huntbrief.errors import ConfigError, FetchError
from huntbrief.model import Article, TextOrigin
from huntbrief.stages.articles import article_from_text, extract_article, is_probably_html

MAX_INPUT_BYTES = 50 * 1024 * 1024
TEXT_SUFFIXES = (".txt", ".md", ".markdown", ".text")
HTML_SUFFIXES = (".html", ".htm", ".xhtml")
_TEXT_CONTROLS = frozenset(b"\t\n\r\f\v\x1b")
_MAGIC = (
    (b"%PDF", "a PDF document"),
    (b"PK\x03\x04", "a ZIP archive (or a .docx/.xlsx document)"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an OLE file (a .doc/.xls/.msg document)"),
    (b"MZ", "a Windows executable"),
    (b"\x7fELF", "an ELF executable"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"\x1f\x8b", "gzip-compressed data"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"Rar!", "a RAR archive"),
    (b"{\\rtf", "an RTF document"),
)


def read_input(
    spec: str,
    *,
    title: str | None = None,
    url: str | None = None,
    source: str | None = None,
    published: datetime | None = None,
    allow_private: bool = False,
) -> Article:
    """Turn INPUT (http(s) URL, .html/.htm/.txt/.md file, or '-') into an Article."""
    when = published.replace(tzinfo=UTC) if published and published.tzinfo is None else published
    scheme = urlsplit(spec).scheme.lower()
    if scheme in ("http", "https"):
        import asyncio

        data = asyncio.run(_fetch(spec, allow_private))
        return extract_article(
            data, url=url or spec, source=source or urlsplit(spec).netloc, title=title, published=when
        )
    if spec == "-":
        data = sys.stdin.buffer.read(MAX_INPUT_BYTES + 1)
        return _from_bytes(data, "stdin", TextOrigin.STDIN, title, url, source or "stdin", when, html=None)
    path = Path(spec)
    if not path.is_file():
        raise ConfigError("INPUT is neither an http(s) URL, an existing file, nor -", location=spec)
    suffix = path.suffix.lower()
    if suffix not in TEXT_SUFFIXES + HTML_SUFFIXES:
        raise ConfigError(
            f"unsupported file type {suffix or '(none)'}: use .html, .htm, .txt or .md", location=spec
        )
    with path.open("rb") as handle:
        data = handle.read(MAX_INPUT_BYTES + 1)
    return _from_bytes(
        data, spec, TextOrigin.FILE, title, url, source or path.name, when, html=suffix in HTML_SUFFIXES
    )


def _from_bytes(
    data: bytes,
    where: str,
    origin: TextOrigin,
    title: str | None,
    url: str | None,
    source: str,
    published: datetime | None,
    html: bool | None,
) -> Article:
    if len(data) > MAX_INPUT_BYTES:
        raise ConfigError(f"input larger than {MAX_INPUT_BYTES // (1024 * 1024)} MB", location=where)
    problem = not_text(data)
    if problem:
        raise ConfigError(problem, location=where)
    if html or (html is None and is_probably_html(data)):
        return extract_article(data, url=url, source=source, title=title, published=published)
    text = _decode_text(data)
    return article_from_text(text, url=url, source=source, title=title, published=published, origin=origin)


def not_text(data: bytes) -> str:
    """Why `data` is not text or HTML ("" when it is): names the file type when its magic bytes say it."""
    head = data[:8192]
    for magic, kind in _MAGIC:
        if head.startswith(magic):
            return f"input is {kind}, not text or HTML: convert it to text first (for example with pdftotext)"
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return ""  # UTF-16 text with a byte-order mark
    controls = sum(1 for byte in head if byte < 32 and byte not in _TEXT_CONTROLS)
    if b"\x00" in head or controls > len(head) // 20:
        return "input is binary data, not text or HTML"
    return ""


def _decode_text(data: bytes) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", errors="replace")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("latin-1")


async def _fetch(url: str, allow_private: bool) -> bytes:
    from huntbrief.adapters.fetch import FetchPolicy, HttpxFetcher  # httpx: only for a URL input

    fetcher = HttpxFetcher(FetchPolicy(allow_private_networks=allow_private, max_bytes=MAX_INPUT_BYTES))
    try:
        result = await fetcher.fetch(url)
    finally:
        await fetcher.aclose()
    if result.status >= 400:
        raise FetchError(f"HTTP {result.status}", location=url)
    return result.content
