"""Feed documents (RSS 0.9x/1.0/2.0, Atom, JSON Feed) → FeedItems, plus URL canonicalisation and filters.

Pure: `parse_feed` gets bytes and headers, never a URL or a path, and never raises; what went wrong is
reported as one-line strings in `FeedParse.problems`, like feedparser's `bozo` but typed.
XML safety: feedparser 6.0.14 strips DOCTYPE entity declarations (keeping only literal-text ones) and
parses with expat with external general entities off, so `SYSTEM` entities are never fetched or read and
entity-expansion bombs never expand (proved in tests/stages/test_feeds.py).
"""

from __future__ import annotations

import email.utils
import hashlib
import html
import io
import json
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin, urlsplit, urlunsplit
from xml.sax import SAXParseException

import charset_normalizer
import feedparser

from huntbrief.model import FeedItem, FeedParse, FeedSource

MAX_FIELD_CHARS = 1 << 20  # summary and content are each cut to 1 MiB of text
# fmt: off
TRACKING_PARAMS = ("fbclid", "gclid", "dclid", "msclkid", "yclid", "mc_cid", "mc_eid", "_hsenc", "_hsmi",
                   "mkt_tok", "igshid", "wt_mc", "wt_zmc", "oly_enc_id", "oly_anon_id")
# fmt: on
TRACKING_PREFIXES = ("utm_",)
_DEFAULT_PORTS = {"http": 80, "https": 443}
_HTML_START = re.compile(rb"\s*(?:<!--.*?-->\s*|<\?.*?\?>\s*)*<(?:!doctype\s+html|html)[\s>]", re.I | re.S)
_FEED_LINK = re.compile(r"<link\b[^>]*type=[\"']application/(?:rss|atom|feed)\+(?:xml|json)[\"'][^>]*>", re.I)
_HREF = re.compile(r"href=[\"']([^\"']+)[\"']", re.I)
_XML_ENCODING = re.compile(rb"^\s*<\?xml[^>]*encoding\s*=", re.I)
_TAG = re.compile(r"<[^>]*>")
_PROBLEM_TEXT = {  # category → how a count of them reads in FeedParse.problems
    "hashed": "{n} {entries} with no id and no link, keyed by a hash of the title or text",
    "empty": "{n} empty {entries} skipped (no id, link, title or text)",
    "duplicate": "{n} duplicate {entries} dropped (same id or link as an earlier entry)",
    "date": "{n} invalid date{s} ignored",
    "huge": "{n} oversized summary/content field{s} cut to 1 MiB",
    "link": "{n} unusable link{s} ignored (not an absolute http(s) URL)",
}


def canonical_url(url: str, base: str | None = None) -> str:
    """The URL resolved against `base`, scheme/host lowercased, default port, fragment and tracking
    parameters dropped, other parameters kept in order. Never raises: a URL it can't parse is
    returned stripped (and resolved when possible)."""
    raw = url.strip()
    try:
        absolute = urljoin(base, raw) if base else raw
        parts = urlsplit(absolute)
        scheme = parts.scheme.lower()
        if scheme not in _DEFAULT_PORTS or not parts.hostname:
            return absolute
        host = parts.hostname.lower()
        if ":" in host:
            host = f"[{host}]"
        if parts.port is not None and parts.port != _DEFAULT_PORTS[scheme]:
            host = f"{host}:{parts.port}"
        userinfo = parts.netloc.rpartition("@")[0]
        netloc = f"{userinfo}@{host}" if userinfo else host
        path = "" if parts.path == "/" else parts.path
        return urlunsplit((scheme, netloc, path, _drop_tracking(parts.query), ""))
    except ValueError:
        return raw


def _drop_tracking(query: str) -> str:
    """The query string without tracking parameters; the other pairs are kept byte for byte."""
    kept = []
    for pair in query.split("&"):
        name = pair.partition("=")[0].lower()
        if pair and name not in TRACKING_PARAMS and not name.startswith(TRACKING_PREFIXES):
            kept.append(pair)
    return "&".join(kept)


def filter_items(items: Sequence[FeedItem], source: FeedSource) -> tuple[tuple[FeedItem, ...], int]:
    """Keep items matching any `source.include` keyword (if any) and no `source.exclude` keyword:
    whole words, case-insensitive, on title + summary (content when there is no summary)."""
    include = _keyword_pattern(source.include)
    exclude = _keyword_pattern(source.exclude)
    kept = []
    for item in items:
        text = f"{item.title}\n{_plain_text(item.summary or item.content)}"
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


def _plain_text(markup: str) -> str:
    """Tags removed, entities decoded, whitespace collapsed."""
    return " ".join(html.unescape(_TAG.sub(" ", markup)).split())


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
            return _parse_json(data, source, base)
        if _HTML_START.match(data[:4096]) or (media == "text/html" and not _has_feed_root(data)):
            return FeedParse((), (_html_problem(data, base),))
        return _parse_xml(data, source, base, charset)
    except Exception as exc:  # last resort: the contract is "never raises"
        return FeedParse((), (f"feed parser failed: {type(exc).__name__}: {_one_line(str(exc))}",))


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


def _one_line(text: str) -> str:
    """Whitespace runs (newlines included) collapsed to single spaces."""
    return " ".join(text.split())


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
        # feedparser mangles file: bases (drops a slash); local feeds' links are resolved by _absolute
        response_headers={"content-type": ctype, **({} if _is_file(base) else {"content-location": base})},
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
    items, item_problems = _build_items([_xml_entry(e) for e in parsed.entries], source, base)
    feed = parsed.get("feed", {})
    return FeedParse(
        items, (*problems, *item_problems), _one_line(str(feed.get("title", ""))), str(feed.get("link", ""))
    )


def _bozo_problem(exc: object, recovered: int, shift: int) -> str:
    """A one-line description of feedparser's bozo exception."""
    name = type(exc).__name__
    text = _one_line(str(exc))
    if isinstance(exc, SAXParseException):
        line = max(1, (exc.getLineNumber() or 1) - shift)
        text = f"{exc.getMessage()} at line {line}, column {exc.getColumnNumber()}"
    if name in ("CharacterEncodingOverride", "CharacterEncodingUnknown"):
        return f"wrong or undeclared encoding: {text}"
    if name == "NonXMLContentType":
        return f"unexpected content type: {text}"
    return f"malformed XML: {text}; the lenient parser recovered {recovered} {_entries(recovered)}"


def _xml_entry(entry: Any) -> dict[str, Any]:
    """The fields we use from one feedparser entry, normalised to plain values."""
    title = str(entry.get("title", ""))
    if entry.get("title_detail", {}).get("type") in ("text/html", "application/xhtml+xml"):
        title = _plain_text(title)
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


def _parse_json(data: bytes, source: FeedSource, base: str) -> FeedParse:
    """JSON Feed 1.0/1.1 (https://jsonfeed.org/version/1.1) → items; HTML is not sanitised."""
    try:
        doc = json.loads(data)
    except (ValueError, RecursionError) as exc:
        return FeedParse((), (f"malformed JSON feed: {_one_line(str(exc))}",))
    if not isinstance(doc, dict) or not isinstance(doc.get("items"), list):
        return FeedParse((), ("not a feed: JSON without a JSON Feed 'items' list",))
    problems = []
    if not str(doc.get("version", "")).startswith("https://jsonfeed.org/version/"):
        problems.append("JSON Feed without a jsonfeed.org version; parsed anyway")
    entries = [_json_entry(i, doc) for i in doc["items"] if isinstance(i, dict)]
    if len(entries) < len(doc["items"]):
        problems.append(f"JSON Feed items skipped (not objects): {len(doc['items']) - len(entries)}")
    items, item_problems = _build_items(entries, source, base)
    title, link = html.unescape(_text(doc.get("title"))), _text(doc.get("home_page_url"))
    return FeedParse(items, (*problems, *item_problems), _one_line(title), link)


def _text(value: object) -> str:
    """A JSON scalar as text ('' for null, lists and objects)."""
    return str(value) if isinstance(value, str | int | float) and not isinstance(value, bool) else ""


def _json_entry(item: dict[str, Any], doc: dict[str, Any]) -> dict[str, Any]:
    """The fields we use from one JSON Feed item, in the same shape as `_xml_entry`."""
    authors = _objects(item.get("authors")) + _objects(item.get("author"))
    authors = authors or _objects(doc.get("authors")) + _objects(doc.get("author"))
    text = _text(item.get("content_text"))
    return {
        "id": _text(item.get("id")),
        "link": _text(item.get("url")) or _text(item.get("external_url")),
        "title": _one_line(html.unescape(_text(item.get("title")))),
        "summary": _text(item.get("summary")),
        "content": _text(item.get("content_html")) or html.escape(text),
        "author": _text(authors[0].get("name")) if authors else "",
        "dates": [(item.get(k), _iso_date(item.get(k))) for k in ("date_published", "date_modified")],
    }


def _objects(value: object) -> list[dict[str, Any]]:
    """The JSON objects in a value that should be an object or a list of objects."""
    values = value if isinstance(value, list) else [value]
    return [v for v in values if isinstance(v, dict)]


def _iso_date(raw: object) -> datetime | None:
    """A UTC datetime from an RFC 3339 (or, leniently, RFC 2822) string; naive means UTC; else None."""
    if not isinstance(raw, str):
        return None
    try:
        value = datetime.fromisoformat(raw.strip())
    except ValueError:
        try:
            value = email.utils.parsedate_to_datetime(raw)
        except (TypeError, ValueError, IndexError):
            return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _build_items(
    entries: list[dict[str, Any]], source: FeedSource, base: str
) -> tuple[tuple[FeedItem, ...], list[str]]:
    """FeedItems from normalised entries: keyed, deduplicated, capped; plus the tallied problems."""
    tally: Counter[str] = Counter()
    first: dict[str, str] = {}
    items: list[FeedItem] = []
    seen: set[str] = set()
    for entry in entries:
        for category, example in _entry_problems(entry, base):
            tally[category] += 1
            first.setdefault(category, example)
        item = _make_item(entry, source, base)
        if item is None:
            tally["empty"] += 1
        elif item.key in seen:
            tally["duplicate"] += 1
            first.setdefault("duplicate", item.key)
        else:
            seen.add(item.key)
            items.append(item)
    problems = [_tally_line(c, n, first.get(c)) for c, n in tally.items()]
    if not items and not entries:
        problems.append("empty feed: no items")
    return tuple(items), problems


def _tally_line(category: str, n: int, example: str | None) -> str:
    """One problem category summed up, e.g. "3 invalid dates ignored (first: 'x')"."""
    line = _PROBLEM_TEXT[category].format(n=n, s="" if n == 1 else "s", entries=_entries(n))
    return f"{line} (first: {example!r})" if example else line


def _entries(n: int) -> str:
    """'entry' or 'entries' for a count."""
    return "entry" if n == 1 else "entries"


def _entry_problems(entry: dict[str, Any], base: str) -> list[tuple[str, str]]:
    """(category, example) for each problem of one entry, before it becomes an item."""
    found = [("date", _one_line(str(raw))[:80]) for raw, value in entry["dates"] if raw and value is None]
    for name in ("summary", "content"):
        if len(entry[name]) > MAX_FIELD_CHARS:
            found.append(("huge", entry["title"][:80] or name))
    link = entry["link"].strip()
    if link and _absolute(link, base) is None:
        found.append(("link", link[:200]))
    has_text = entry["title"] or entry["summary"] or entry["content"]
    if not entry["id"].strip() and _absolute(link, base) is None and has_text:
        found.append(("hashed", entry["title"][:80] or "(untitled)"))
    return found


def _is_file(base: str) -> bool:
    return urlsplit(base).scheme.lower() == "file"


def _absolute(link: str, base: str) -> str | None:
    """The link resolved against base if that gives an absolute http(s) URL, else None.

    A file: link is kept only for a feed that is itself a local file (the runner confines it)."""
    url = urljoin(base, link.strip()) if link.strip() else ""
    parts = urlsplit(url)
    if parts.scheme.lower() == "file":
        return url if _is_file(base) else None
    return url if parts.scheme.lower() in _DEFAULT_PORTS and parts.netloc else None


def _make_item(entry: dict[str, Any], source: FeedSource, base: str) -> FeedItem | None:
    """One FeedItem, keyed by GUID, else canonical URL, else a hash of source + title; None if empty."""
    guid = entry["id"].strip() or None
    url = _absolute(entry["link"], base)
    summary, content = entry["summary"][:MAX_FIELD_CHARS], entry["content"][:MAX_FIELD_CHARS]
    basis = entry["title"] or _plain_text(summary or content)
    if guid:
        key = guid
    elif url:
        key = canonical_url(url)
    elif basis:
        key = "sha256:" + hashlib.sha256(f"{source.name}\n{basis}".encode()).hexdigest()
    else:
        return None
    return FeedItem(
        key=key,
        source=source.name,
        title=_one_line(entry["title"]) or url or "(untitled)",
        url=url,
        guid=guid,
        published=next((value for _, value in entry["dates"] if value is not None), None),
        summary=summary,
        content=content,
        author=_one_line(entry["author"]),
    )
