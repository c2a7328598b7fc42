"""Brief → IOC watchlists: CSV in the shapes of a Splunk lookup and a Microsoft Sentinel watchlist,
plus one plain-text list per indicator type (values only, for blocklists and EDL feeds).

Per brief: `<stem>.csv` (Splunk lookup). Beside the index, over every indexed brief: `index.csv`
(Splunk lookup), `watchlist-sentinel.csv` (SearchKey: `Indicator`) and `watchlist-<type>.txt`.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from huntbrief.adapters.render.naming import brief_stem
from huntbrief.adapters.render.provenance import first_seen, iso_z
from huntbrief.model import Brief, Confidence, IndicatorKind, SeverityLevel

SPLUNK_FIELDS = (
    "indicator", "type", "first_seen", "last_seen", "brief_id", "brief_count",
    "confidence", "severity", "title", "url",
)  # fmt: skip
SENTINEL_FIELDS = (
    "Indicator", "IndicatorType", "FirstSeen", "LastSeen", "BriefId", "BriefCount",
    "Confidence", "Severity", "Title", "SourceUrl",
)  # fmt: skip
_RANK = {Confidence.HIGH: 0, Confidence.MEDIUM: 1, Confidence.LOW: 2}
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True, slots=True)
class WatchRow:
    """One indicator across the briefs that report it; title/url/brief_id are of the newest brief."""

    kind: IndicatorKind
    value: str
    first_seen: datetime
    last_seen: datetime
    brief_id: str
    brief_count: int
    confidence: Confidence
    severity: SeverityLevel
    title: str
    url: str

    def cells(self) -> list[str]:
        """The row's values in SPLUNK_FIELDS / SENTINEL_FIELDS order (the two share an order)."""
        seen = [iso_z(self.first_seen), iso_z(self.last_seen)]
        about = [self.confidence.value, self.severity.value, safe_text(self.title), self.url]
        return [self.value, self.kind.value, *seen, self.brief_id, str(self.brief_count), *about]


def safe_text(text: str) -> str:
    """Free text that a spreadsheet will not run as a formula (a leading `'` is added when needed)."""
    flat = " ".join(text.split())
    return "'" + flat if flat.startswith(_FORMULA_START) else flat


def watch_rows(briefs: Iterable[tuple[Brief, str]]) -> list[WatchRow]:
    """One row per (type, value) over the briefs, merged; sorted by type, then value."""
    merged: dict[tuple[IndicatorKind, str], WatchRow] = {}
    for brief, stem in briefs:
        seen = first_seen(brief)
        for ind in brief.iocs.indicators:
            row = WatchRow(
                ind.kind, ind.value, seen, seen, stem, 1, ind.confidence,
                brief.severity.level, brief.title, brief.url or "",
            )  # fmt: skip
            old = merged.get((ind.kind, ind.value))
            merged[(ind.kind, ind.value)] = row if old is None else _merge(old, row)
    return sorted(merged.values(), key=lambda r: (r.kind.value, r.value))


def _merge(old: WatchRow, new: WatchRow) -> WatchRow:
    newest = new if (new.last_seen, new.brief_id) > (old.last_seen, old.brief_id) else old
    return WatchRow(
        kind=old.kind,
        value=old.value,
        first_seen=min(old.first_seen, new.first_seen),
        last_seen=max(old.last_seen, new.last_seen),
        brief_id=newest.brief_id,
        brief_count=old.brief_count + new.brief_count,
        confidence=min(old.confidence, new.confidence, key=_RANK.__getitem__),
        severity=min(old.severity, new.severity, key=lambda s: s.rank),
        title=newest.title,
        url=newest.url,
    )


def to_csv(header: tuple[str, ...], rows: list[WatchRow]) -> str:
    """CSV text with a header row, RFC 4180 quoting and `\\n` line ends."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(row.cells() for row in rows)
    return buffer.getvalue()


def text_lists(rows: list[WatchRow]) -> dict[str, str]:
    """`watchlist-<type>.txt` → sorted values, one a line; low-confidence indicators are left out."""
    lists: dict[str, list[str]] = {}
    for row in rows:
        if row.confidence is not Confidence.LOW:
            lists.setdefault(f"watchlist-{row.kind.value}.txt", []).append(row.value)
    return {name: "\n".join(sorted(values)) + "\n" for name, values in sorted(lists.items())}


class CsvRenderer:
    """IOC watchlists for SIEMs: Splunk lookup per brief and for the index, Sentinel and text lists."""

    name = "csv"
    extension = "csv"
    index_files_glob = "watchlist-*"

    def render(self, brief: Brief) -> str:
        """The brief's indicators as a Splunk lookup CSV."""
        return to_csv(SPLUNK_FIELDS, watch_rows([(brief, brief_stem(brief))]))

    def render_index(self, briefs: list[tuple[Brief, str]]) -> str:
        """Every indexed brief's indicators, merged, as a Splunk lookup CSV."""
        return to_csv(SPLUNK_FIELDS, watch_rows(briefs))

    def render_index_files(self, briefs: list[tuple[Brief, str]]) -> dict[str, str]:
        """The Sentinel watchlist and the per-type text lists over the indexed briefs."""
        rows = watch_rows(briefs)
        return {"watchlist-sentinel.csv": to_csv(SENTINEL_FIELDS, rows), **text_lists(rows)}
