"""Feed documents (RSS 0.9x/1.0/2.0, Atom, JSON Feed) → FeedItems, plus keyword filters.

Pure: `parse_feed` gets bytes and headers, never a URL or a path, and never raises; what went wrong is
reported as one-line strings in `FeedParse.problems`, like feedparser's `bozo` but typed.
XML safety: feedparser 6.0.14 strips DOCTYPE entity declarations (keeping only literal-text ones) and
parses with expat with external general entities off, so `SYSTEM` entities are never fetched or read and
entity-expansion bombs never expand (proved in tests/stages/test_feeds.py).
JSON Feed lives in `jsonfeed.py`, item building in `feed_items.py`, URL canonicalisation in `urls.py`.
"""

from __future__ import annotations

import html
import io
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin
from xml.sax import SAXParseException

import charset_normalizer
import feedparser

from huntbrief.model import FeedItem, FeedParse, FeedSource
from huntbrief.stages.feed_items import MAX_FIELD_CHARS, build_items, entries_word, one_line, plain_text
from huntbrief.stages.jsonfeed import parse_json_feed
from huntbrief.stages.urls import canonical_url, is_file_url

__all__ = ["MAX_FIELD_CHARS", "canonical_url", "filter_items", "parse_feed"]

_HTML_START = re.compile(rb"\s*(?:<!--.*?-->\s*|<\?.*?\?>\s*)*<(?:!doctype\s+html|html)[\s>]", re.I | re.S)
_FEED_LINK = re.compile(r"<link\b[^>]*type=[\"']application/(?:rss|atom|feed)\+(?:xml|json)[\"'][^>]*>", re.I)
_HREF = re.compile(r"href=[\"']([^\"']+)[\"']", re.I)
_XML_ENCODING = re.compile(rb"^\s*<\?xml[^>]*encoding\s*=", re.I)


def filter_items(items: Sequence[FeedItem], source: FeedSource) -> tuple[tuple[FeedItem, ...], int]:
    """Keep items matching any `source.include` keyword (if any) and no `source.exclude` keyword:
    whole words, case-insensitive, on title + summary (content when there is no summary)."""
    include = _keyword_pattern(source.include)
    exclude = _keyword_pattern(source.exclude)
    kept = []
    for item in items:
        text = f"{item.title}\n{plain_text(item.summary or item.content)}"
        if include and not include.search(text):
            continue
        if exclude and exclude.search(text):
            continue
        kept.append(item)
    return tuple(kept), len(items) - len(kept)


def _keyword_pattern(words: Sequence[str]) -> re.Pattern[str] | None:
    """One regex matching any of the words or phrases as whole words, or None for no words."""
    alternatives = [re.escape(" ".join(w.split())).replace(r"\ ", r"\s+") for w in words if w.strip()]
    if not alternatives:
        return None
    return re.compile(r"(?<!\w)(?:" + "|".join(alternatives) + r")(?!\w)", re.IGNORECASE)


def parse_feed(
    data: bytes,
    source: FeedSource,
    *,
    headers: Mapping[str, str] | None = None,
    base_url: str | None = None,
) -> FeedParse:
    """Parse one RSS, Atom or JSON Feed document into items and problems; never raises.
    Relative links resolve against Content-Location, else `base_url`, else `source.url`."""
    try:
        low = {k.lower(): v for k, v in (headers or {}).items()}
        base = base_url or source.url
        if "content-location" in low:
            base = urljoin(base, low["content-location"].strip())
        media, charset = _content_type(low.get("content-type", ""))
        if not data.strip():
            return FeedParse((), ("empty document: no bytes to parse",))
        if "json" in media or data.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{"):
            return parse_json_feed(data, source, base)
        if _HTML_START.match(data[:4096]) or (media == "text/html" and not _has_feed_root(data)):
            return FeedParse((), (_html_problem(data, base),))
        return _parse_xml(data, source, base, charset)
    except Exception as exc:  # last resort: the contract is "never raises"
        return FeedParse((), (f"feed parser failed: {type(exc).__name__}: {one_line(str(exc))}",))


def _content_type(value: str) -> tuple[str, str | None]:
    """(media type lowercased, charset or None) from a Content-Type header value."""
    media, _, params = value.partition(";")
    match = re.search(r"charset\s*=\s*[\"']?([\w.:-]+)", params, re.I)
    return media.strip().lower(), (match.group(1) if match else None)


def _has_feed_root(data: bytes) -> bool:
    """True if an rss, feed or RDF root element appears near the start."""
    return re.search(rb"<(?:\w+:)?(?:rss|feed|rdf)[\s>]", data[:4096], re.I) is not None


def _html_problem(data: bytes, base: str) -> str:
    """The 'not a feed' problem, naming the page's advertised feed when it has one."""
    page = data[:65536].decode("utf-8", "replace")
    for tag in _FEED_LINK.findall(page):
        href = _HREF.search(tag)
        if href:
            feed_url = urljoin(base, html.unescape(href[1]))
            return f"not a feed: got an HTML page (it links to a feed at {feed_url})"
    return "not a feed: got an HTML page"


def _guess_charset(data: bytes, declared: str | None) -> str | None:
    """A guessed charset for XML that declares none (header, BOM, XML prolog) and isn't UTF-8."""
    if declared or data.startswith((b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff", b"\x00", b"<\x00")):
        return None
    if _XML_ENCODING.match(data[:512]):
        return None
    try:
        data.decode("utf-8")
        return None
    except UnicodeDecodeError:
        best = charset_normalizer.from_bytes(data[:65536]).best()
        return best.encoding if best else None


def _parse_xml(data: bytes, source: FeedSource, base: str, charset: str | None) -> FeedParse:
    """RSS/Atom/RDF via feedparser on the bytes (never a URL), with bozo turned into problems."""
    problems: list[str] = []
    if re.match(rb"\s+<\?xml", data):
        data = data.lstrip()  # a common server quirk; the XML declaration must come first
    guessed = _guess_charset(data, charset)
    if guessed:
        problems.append(f"undeclared encoding: the bytes are not UTF-8; decoded as {guessed} (a guess)")
    ctype = "application/xml" + (f"; charset={guessed or charset}" if guessed or charset else "")
    parsed = feedparser.parse(
        io.BytesIO(data),
        # feedparser mangles file: bases (drops a slash); local feeds' links are resolved by absolute_link
        response_headers={"content-type": ctype, **({} if is_file_url(base) else {"content-location": base})},
        resolve_relative_uris=True,
        sanitize_html=True,
    )
    if re.search(rb"<!ENTITY", data[:65536]):
        problems.append("DOCTYPE entity declarations ignored (external entities are never resolved)")
    if parsed.get("bozo"):
        shift = 0 if data.startswith(b"<?xml") else 1  # feedparser prepends a declaration line
        problems.append(_bozo_problem(parsed.get("bozo_exception"), len(parsed.entries), shift))
    if not parsed.get("version") and not parsed.entries:
        return FeedParse((), (*problems, "not a feed: no RSS, Atom or RDF document found"))
    items, item_problems = build_items([_xml_entry(e) for e in parsed.entries], source, base)
    feed = parsed.get("feed", {})
    return FeedParse(
        items, (*problems, *item_problems), one_line(str(feed.get("title", ""))), str(feed.get("link", ""))
    )


def _bozo_problem(exc: object, recovered: int, shift: int) -> str:
    """A one-line description of feedparser's bozo exception."""
    name = type(exc).__name__
    text = one_line(str(exc))
    if isinstance(exc, SAXParseException):
        line = max(1, (exc.getLineNumber() or 1) - shift)
        text = f"{exc.getMessage()} at line {line}, column {exc.getColumnNumber()}"
    if name in ("CharacterEncodingOverride", "CharacterEncodingUnknown"):
        return f"wrong or undeclared encoding: {text}"
    if name == "NonXMLContentType":
        return f"unexpected content type: {text}"
    return f"malformed XML: {text}; the lenient parser recovered {recovered} {entries_word(recovered)}"


def _xml_entry(entry: Any) -> dict[str, Any]:
    """The fields we use from one feedparser entry, normalised to plain values."""
    title = str(entry.get("title", ""))
    if entry.get("title_detail", {}).get("type") in ("text/html", "application/xhtml+xml"):
        title = plain_text(title)
    contents = [str(c.get("value", "")) for c in entry.get("content", []) if c.get("value")]
    raw = [(dict.get(entry, k), dict.get(entry, f"{k}_parsed")) for k in ("published", "updated")]
    dates = [(text, _struct_date(text, parsed)) for text, parsed in raw]  # dict.get: no feedparser aliasing
    return {
        "id": str(entry.get("id") or ""),
        "link": str(entry.get("link") or ""),
        "title": title,
        "summary": str(entry.get("summary", "")),
        "content": max(contents, key=len) if contents else "",
        "author": str(entry.get("author", "")),
        "dates": dates,
    }


def _struct_date(raw: object, parsed: Any) -> datetime | None:
    """A UTC datetime from feedparser's struct_time; None when missing or the raw text was bad."""
    if parsed is None or str(raw).strip().isdigit():  # feedparser misreads bare epoch numbers
        return None
    try:
        year, month, day, hour, minute, second = parsed[:6]
        return datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    except (TypeError, ValueError):
        return None
