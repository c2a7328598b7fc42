"""JSON Feed 1.0/1.1 documents (https://jsonfeed.org/version/1.1) → FeedItems. Pure, never raises."""

from __future__ import annotations

import email.utils
import html
import json
from datetime import UTC, datetime
from typing import Any

from huntbrief.model import FeedParse, FeedSource
from huntbrief.stages.feed_items import build_items, one_line


def parse_json_feed(data: bytes, source: FeedSource, base: str) -> FeedParse:
    """JSON Feed bytes → items, problems, feed title and home page; HTML is not sanitised.
    Relative item links resolve against `base`."""
    try:
        doc = json.loads(data)
    except (ValueError, RecursionError) as exc:
        return FeedParse((), (f"malformed JSON feed: {one_line(str(exc))}",))
    if not isinstance(doc, dict) or not isinstance(doc.get("items"), list):
        return FeedParse((), ("not a feed: JSON without a JSON Feed 'items' list",))
    problems = []
    if not str(doc.get("version", "")).startswith("https://jsonfeed.org/version/"):
        problems.append("JSON Feed without a jsonfeed.org version; parsed anyway")
    entries = [_json_entry(i, doc) for i in doc["items"] if isinstance(i, dict)]
    if len(entries) < len(doc["items"]):
        problems.append(f"JSON Feed items skipped (not objects): {len(doc['items']) - len(entries)}")
    items, item_problems = build_items(entries, source, base)
    title, link = html.unescape(_text(doc.get("title"))), _text(doc.get("home_page_url"))
    return FeedParse(items, (*problems, *item_problems), one_line(title), link)


def _text(value: object) -> str:
    """A JSON scalar as text ('' for null, lists and objects)."""
    return str(value) if isinstance(value, str | int | float) and not isinstance(value, bool) else ""


def _json_entry(item: dict[str, Any], doc: dict[str, Any]) -> dict[str, Any]:
    """The fields we use from one JSON Feed item, as a normalised entry for `build_items`."""
    authors = _objects(item.get("authors")) + _objects(item.get("author"))
    authors = authors or _objects(doc.get("authors")) + _objects(doc.get("author"))
    text = _text(item.get("content_text"))
    return {
        "id": _text(item.get("id")),
        "link": _text(item.get("url")) or _text(item.get("external_url")),
        "title": one_line(html.unescape(_text(item.get("title")))),
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
