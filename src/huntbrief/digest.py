"""The digest: briefs of a time window grouped by severity, top techniques and indicators, and
what changed since the previous digest. Pure: the caller reads the store and the clock.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from huntbrief.model import Brief, IndicatorKind, SeverityLevel

TOP = 10
NEW, UPDATED, UNCHANGED = "new", "updated", "unchanged"


@dataclass(frozen=True, slots=True)
class Version:
    """One saved analysis of an item: when, and the severity level it got."""

    analysed_at: datetime
    level: SeverityLevel


@dataclass(frozen=True, slots=True)
class DigestEntry:
    """A brief in the digest; `change` is new/updated/unchanged relative to the baseline."""

    brief: Brief
    change: str
    detail: str = ""


@dataclass(frozen=True, slots=True)
class Ranked:
    """A technique or indicator with the number of briefs naming it and their highest severity."""

    key: str  # technique ID, or indicator value
    label: str  # technique name, or indicator type
    count: int
    level: SeverityLevel
    display: str = ""  # defanged indicator for people


@dataclass(frozen=True, slots=True)
class Digest:
    """Everything a digest says. `baseline` is the previous digest's time (else `since`)."""

    generated_at: datetime
    since: datetime
    previous: datetime | None
    min_level: SeverityLevel | None
    groups: tuple[tuple[SeverityLevel, tuple[DigestEntry, ...]], ...]
    top_techniques: tuple[Ranked, ...]
    top_iocs: tuple[Ranked, ...]

    @property
    def baseline(self) -> datetime:
        """Changes are counted from the previous digest, or from the window start if none."""
        return self.previous or self.since

    @property
    def entries(self) -> tuple[DigestEntry, ...]:
        """Every entry, most urgent group first."""
        return tuple(e for _, group in self.groups for e in group)

    def count(self, change: str) -> int:
        """How many entries have this change (new, updated, unchanged)."""
        return sum(1 for e in self.entries if e.change == change)


def classify(brief: Brief, versions: Sequence[Version], baseline: datetime) -> tuple[str, str]:
    """(change, detail) of a brief relative to `baseline` from its saved versions (oldest first)."""
    before = [v for v in versions if v.analysed_at < baseline]
    after = [v for v in versions if v.analysed_at >= baseline]
    if not before:
        return NEW, ""
    if not after:
        return UNCHANGED, ""
    notes = []
    if before[-1].level is not brief.severity.level:
        notes.append(f"severity {before[-1].level.value} → {brief.severity.level.value}")
    if brief.changes:
        notes.append(brief.changes)
    return UPDATED, "; ".join(notes) or "content changed"


def build_digest(
    briefs: Sequence[Brief],
    versions: Mapping[str, Sequence[Version]],
    *,
    now: datetime,
    since: datetime,
    previous: datetime | None,
    min_level: SeverityLevel | None = None,
) -> Digest:
    """The digest of `briefs` (those of the window); `versions` maps item key → its saved versions."""
    baseline = previous or since
    entries = [DigestEntry(b, *classify(b, versions.get(b.item_key or "", ()), baseline)) for b in briefs]
    groups = tuple(
        (level, tuple(e for e in entries if e.brief.severity.level is level))
        for level in SeverityLevel
        if any(e.brief.severity.level is level for e in entries)
    )
    return Digest(now, since, previous, min_level, groups, top_techniques(briefs), top_iocs(briefs))


def _most_urgent(levels: Sequence[SeverityLevel]) -> SeverityLevel:
    return min(levels, key=lambda lv: lv.rank)


def top_techniques(briefs: Sequence[Brief], limit: int = TOP) -> tuple[Ranked, ...]:
    """Techniques named by the most briefs (ties: most urgent, then ID)."""
    names: dict[str, str] = {}
    levels: dict[str, list[SeverityLevel]] = {}
    for brief in briefs:
        for hit in {h.id: h for h in brief.techniques}.values():
            names[hit.id] = hit.name
            levels.setdefault(hit.id, []).append(brief.severity.level)
    ranked = [Ranked(tid, names[tid], len(lv), _most_urgent(lv)) for tid, lv in levels.items()]
    return tuple(sorted(ranked, key=lambda r: (-r.count, r.level.rank, r.key))[:limit])


def top_iocs(briefs: Sequence[Brief], limit: int = TOP) -> tuple[Ranked, ...]:
    """Indicators named by the most briefs (ties: most urgent, then type and value); CVEs included."""
    counts: Counter[tuple[IndicatorKind, str]] = Counter()
    levels: dict[tuple[IndicatorKind, str], list[SeverityLevel]] = {}
    shown: dict[tuple[IndicatorKind, str], str] = {}
    for brief in briefs:
        for ind in {(i.kind, i.value): i for i in brief.iocs.indicators}.values():
            key = (ind.kind, ind.value)
            counts[key] += 1
            levels.setdefault(key, []).append(brief.severity.level)
            shown[key] = ind.defanged or ind.value
    ranked = [
        Ranked(key[1], key[0].value, count, _most_urgent(levels[key]), shown[key])
        for key, count in counts.items()
    ]
    return tuple(sorted(ranked, key=lambda r: (-r.count, r.level.rank, r.label, r.key))[:limit])
