"""File stems of briefs: readable, date-sorted and unique per item. Also each brief's public ID."""

from __future__ import annotations

import hashlib
import re
import unicodedata

from huntbrief.model import Brief

_SLUG_DROP = re.compile(r"[^a-z0-9]+")


def slugify(text: str, max_len: int = 60) -> str:
    """ASCII, lowercase, hyphen-separated slug of at most `max_len` chars ('untitled' if empty)."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    slug = _SLUG_DROP.sub("-", ascii_text.lower()).strip("-")
    return slug[:max_len].rstrip("-") or "untitled"


def brief_stem(brief: Brief) -> str:
    """`YYYY-MM-DD-slug-KEYHASH`: date-sorted, readable, and unique per item key."""
    when = brief.published or brief.analysed_at
    date = when.date().isoformat() if when else "undated"
    identity = brief.item_key or brief.url or brief.content_hash
    return f"{date}-{slugify(brief.title)}-{key_hash(identity)}"


def key_hash(identity: str) -> str:
    """The first 10 hex digits of the SHA-256 of an item identity."""
    return hashlib.sha256(identity.encode("utf-8")).hexdigest()[:10]
