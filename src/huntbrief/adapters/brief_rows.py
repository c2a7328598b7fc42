"""The read-side index rows of one stored brief: its IOCs, techniques and a search digest.

Pure: built from the `serialize.brief_to_dict` shape, so the store (on save) and the migration
(backfilling old rows) derive exactly the same rows. Nothing here touches the database.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from huntbrief.stages.refang import refang, url_host

SUMMARY_CHARS = 280


def _host(kind: str, norm: str) -> str | None:
    """The host a domain, URL or e-mail indicator is on (None for other kinds)."""
    if kind == "domain":
        return norm
    if kind == "url":
        return url_host(norm) or None
    if kind == "email":
        return norm.rpartition("@")[2] or None
    return None


def brief_id(key: str) -> str:
    """The short, stable, URL-safe id of an item key (16 hex digits of its SHA-256)."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]


def normalise_ioc(text: str) -> str:
    """A pasted indicator as it is indexed: refanged, trimmed of quotes and spaces, lower-case."""
    return refang(text.strip()).text.strip().strip("\"'<>,;").strip().lower()


@dataclass(frozen=True, slots=True)
class IndexRows:
    """Everything the read side indexes for one brief, as plain row dicts."""

    digest: dict[str, Any]
    iocs: list[dict[str, Any]]
    techniques: list[dict[str, Any]]


def index_rows(key: str, data: dict[str, Any], listed: dict[str, Any]) -> IndexRows:
    """The index rows of the brief `data` (a `brief_to_dict` dict) stored under `key`.

    `listed` holds its `briefs` row values: title, source, level, score, published, analysed_at."""
    when: datetime = listed["published"] or listed["analysed_at"]
    day = (when.astimezone(UTC) if when.tzinfo else when).date().isoformat()
    iocs = {}
    for ioc in data.get("iocs", ()):
        norm = normalise_ioc(ioc["value"])
        host = _host(ioc["type"], norm)
        iocs[(ioc["type"], norm)] = {"key": key, "kind": ioc["type"], "norm": norm, "host": host}
    techniques = {
        t["id"]: {
            "key": key,
            "technique": t["id"],
            "name": t["name"],
            "confidence": float(t["confidence"]),
            "day": day,
        }
        for t in data.get("techniques", ())
    }
    words = [data.get("title", ""), data.get("source", ""), data.get("summary", "")]
    words += [f"{t['id']} {t['name']}" for t in data.get("techniques", ())]
    summary = " ".join(str(data.get("summary") or "").split())
    columns = ("title", "source", "level", "score", "published", "analysed_at")
    digest = {
        "key": key,
        "id": brief_id(key),
        **{c: listed[c] for c in columns},
        "undated": int(listed["published"] is None),
        "day": day,
        "summary": summary[:SUMMARY_CHARS] + ("…" if len(summary) > SUMMARY_CHARS else ""),
        "search": " ".join(" ".join(words).split()).lower(),
        "iocs": len(data.get("iocs", ())),
        "techniques": len(data.get("techniques", ())),
        "hunts": len(data.get("hunts", ())),
    }
    return IndexRows(digest, list(iocs.values()), list(techniques.values()))
