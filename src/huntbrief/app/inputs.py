"""Read one article for `brief`, `iocs` and `techniques`: a URL, a file, or stdin."""

from __future__ import annotations

import asyncio
import sys
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

from huntbrief.adapters.fetch import FetchPolicy, HttpxFetcher
from huntbrief.errors import ConfigError, FetchError
from huntbrief.model import Article, TextOrigin
from huntbrief.stages.articles import article_from_text, extract_article, is_probably_html

MAX_INPUT_BYTES = 50 * 1024 * 1024
TEXT_SUFFIXES = (".txt", ".md", ".markdown", ".text")
HTML_SUFFIXES = (".html", ".htm", ".xhtml")


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
    if b"\x00" in data[:8192] and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ConfigError("input is binary, not text or HTML", location=where)
    if html or (html is None and is_probably_html(data)):
        return extract_article(data, url=url, source=source, title=title, published=published)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    return article_from_text(text, url=url, source=source, title=title, published=published, origin=origin)


async def _fetch(url: str, allow_private: bool) -> bytes:
    fetcher = HttpxFetcher(FetchPolicy(allow_private_networks=allow_private, max_bytes=MAX_INPUT_BYTES))
    try:
        result = await fetcher.fetch(url)
    finally:
        await fetcher.aclose()
    if result.status >= 400:
        raise FetchError(f"HTTP {result.status}", location=url)
    return result.content
