"""Normalised feed entries (from the XML or JSON Feed parsers) → keyed, deduplicated FeedItems.

An entry is a plain dict with `id`, `link`, `title`, `summary`, `content`, `author` (strings) and
`dates` (a list of (raw value, UTC datetime or None) pairs). Pure; problems come back as one-line strings.
"""

from __future__ import annotations

import hashlib
import html
import re
from collections import Counter
from typing import Any

from huntbrief.model import FeedItem, FeedSource
from huntbrief.stages.urls import absolute_link, canonical_url

MAX_FIELD_CHARS = 1 << 20  # summary and content are each cut to 1 MiB of text
_TAG = re.compile(r"<[^>]*>")
_PROBLEM_TEXT = {  # category → how a count of them reads in FeedParse.problems
    "hashed": "{n} {entries} with no id and no link, keyed by a hash of the title or text",
    "empty": "{n} empty {entries} skipped (no id, link, title or text)",
    "duplicate": "{n} duplicate {entries} dropped (same id or link as an earlier entry)",
    "date": "{n} invalid date{s} ignored",
    "huge": "{n} oversized summary/content field{s} cut to 1 MiB",
    "link": "{n} unusable link{s} ignored (not an absolute http(s) URL)",
}


def one_line(text: str) -> str:
    """Whitespace runs (newlines included) collapsed to single spaces."""
    return " ".join(text.split())


def plain_text(markup: str) -> str:
    """Tags removed, entities decoded, whitespace collapsed."""
    return " ".join(html.unescape(_TAG.sub(" ", markup)).split())


def entries_word(n: int) -> str:
    """'entry' or 'entries' for a count."""
    return "entry" if n == 1 else "entries"


def build_items(
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
    line = _PROBLEM_TEXT[category].format(n=n, s="" if n == 1 else "s", entries=entries_word(n))
    return f"{line} (first: {example!r})" if example else line


def _entry_problems(entry: dict[str, Any], base: str) -> list[tuple[str, str]]:
    """(category, example) for each problem of one entry, before it becomes an item."""
    found = [("date", one_line(str(raw))[:80]) for raw, value in entry["dates"] if raw and value is None]
    for name in ("summary", "content"):
        if len(entry[name]) > MAX_FIELD_CHARS:
            found.append(("huge", entry["title"][:80] or name))
    link = entry["link"].strip()
    if link and absolute_link(link, base) is None:
        found.append(("link", link[:200]))
    has_text = entry["title"] or entry["summary"] or entry["content"]
    if not entry["id"].strip() and absolute_link(link, base) is None and has_text:
        found.append(("hashed", entry["title"][:80] or "(untitled)"))
    return found


def _make_item(entry: dict[str, Any], source: FeedSource, base: str) -> FeedItem | None:
    """One FeedItem, keyed by GUID, else canonical URL, else a hash of source + title; None if empty."""
    guid = entry["id"].strip() or None
    url = absolute_link(entry["link"], base)
    summary, content = entry["summary"][:MAX_FIELD_CHARS], entry["content"][:MAX_FIELD_CHARS]
    basis = entry["title"] or plain_text(summary or content)
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
        title=one_line(entry["title"]) or url or "(untitled)",
        url=url,
        guid=guid,
        published=next((value for _, value in entry["dates"] if value is not None), None),
        summary=summary,
        content=content,
        author=one_line(entry["author"]),
    )
