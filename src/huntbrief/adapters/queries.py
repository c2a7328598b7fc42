"""Read-side queries for the web view and API: filtered brief lists, IOC lookup, techniques.

SQLAlchemy Core over the store's tables and its read-side index (migration `0002_read_index`),
inside the store's read transactions. Never writes. List queries never decode the brief JSON.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, or_, select

from huntbrief.adapters.brief_rows import normalise_ioc
from huntbrief.adapters.migrations import (
    BRIEF_INDEX,
    BRIEF_IOCS,
    BRIEF_TECHNIQUES,
    BRIEFS,
)
from huntbrief.adapters.store import SqlStore
from huntbrief.model import Brief, SeverityLevel
from huntbrief.serialize import brief_from_dict

MAX_TERMS = 8
MATCHES_PER_IOC = 200
_BI = BRIEF_INDEX.c
_ROW_COLUMNS = (
    _BI.id,
    _BI.key,
    _BI.title,
    _BI.source,
    _BI.published,
    _BI.analysed_at,
    _BI.level,
    _BI.score,
    BRIEF_INDEX.c.summary,
    BRIEF_INDEX.c.iocs,
    BRIEF_INDEX.c.techniques,
    BRIEF_INDEX.c.hunts,
)


@dataclass(frozen=True, slots=True)
class BriefFilter:
    """Which briefs to list; empty fields do not filter. Dates are inclusive UTC days."""

    levels: tuple[SeverityLevel, ...] = ()
    min_level: SeverityLevel | None = None
    source: str | None = None
    since: date | None = None
    until: date | None = None
    technique: str | None = None  # "T1059" also matches its sub-techniques "T1059.001"…
    text: str | None = None  # every word must appear in title, source, summary or technique names


@dataclass(frozen=True, slots=True)
class BriefRow:
    """One brief as listed: its index columns, never the full JSON."""

    id: str
    key: str
    title: str
    source: str
    published: datetime | None
    analysed_at: datetime
    level: SeverityLevel
    score: int
    summary: str
    iocs: int
    techniques: int
    hunts: int


@dataclass(frozen=True, slots=True)
class Page:
    """A page of briefs and how many match in all."""

    rows: tuple[BriefRow, ...]
    total: int
    limit: int
    offset: int


@dataclass(frozen=True, slots=True)
class IocMatch:
    """A brief that mentions a looked-up indicator; `how` is "exact" or "host" (a URL/e-mail on it)."""

    query: str
    kind: str
    value: str
    how: str
    brief: BriefRow


@dataclass(frozen=True, slots=True)
class TechniqueCount:
    """How many briefs name a technique, and the newest of them."""

    id: str
    name: str
    briefs: int
    last_seen: date


@dataclass(frozen=True, slots=True)
class Heatmap:
    """Brief counts per technique (rows) per time bucket (columns), busiest techniques first."""

    buckets: tuple[date, ...]
    bucket_days: int
    rows: tuple[tuple[TechniqueCount, tuple[int, ...]], ...]
    peak: int


def _row(row: Any) -> BriefRow:
    m = row._mapping
    return BriefRow(**{**{c.name: m[c.name] for c in _ROW_COLUMNS}, "level": SeverityLevel(m["level"])})


def technique_clause(technique: str) -> ColumnElement[bool]:
    """Rows of `brief_techniques` for an ATT&CK ID and, for a parent technique, its sub-techniques."""
    tid = technique.strip().upper()
    return or_(BRIEF_TECHNIQUES.c.technique == tid, BRIEF_TECHNIQUES.c.technique.like(f"{tid}.%"))


def _conditions(flt: BriefFilter) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    levels = {lv.value for lv in flt.levels}
    if flt.min_level is not None:
        floor = {lv.value for lv in SeverityLevel if lv.rank <= flt.min_level.rank}
        levels = levels & floor if levels else floor
    if flt.levels or flt.min_level is not None:
        where.append(_BI.level.in_(sorted(levels)))
    if flt.source:
        where.append(_BI.source == flt.source)
    where.extend(_days(_BI.day, flt.since, flt.until))
    if flt.technique:
        where.append(_BI.key.in_(select(BRIEF_TECHNIQUES.c.key).where(technique_clause(flt.technique))))
    for term in (flt.text or "").lower().split()[:MAX_TERMS]:
        where.append(BRIEF_INDEX.c.search.contains(term, autoescape=True))
    return where


def _days(column: Any, since: date | None, until: date | None) -> list[ColumnElement[bool]]:
    """Conditions on a YYYY-MM-DD text column for an inclusive range of days."""
    found: list[ColumnElement[bool]] = []
    if since is not None:
        found.append(column >= since.isoformat())
    if until is not None:
        found.append(column <= until.isoformat())
    return found


def _ordered(query: Select[Any]) -> Select[Any]:
    """Newest published first, undated last: the order of the `ix_brief_index_order` index."""
    return query.order_by(_BI.undated, _BI.published.desc(), _BI.analysed_at.desc(), _BI.key)


class Queries:
    """The read side over one SqlStore; every method is one read transaction."""

    def __init__(self, store: SqlStore) -> None:
        self._store = store

    def briefs(self, flt: BriefFilter, *, limit: int = 50, offset: int = 0) -> Page:
        """A page of briefs matching `flt`, newest published first (undated last), and the total."""
        if limit < 0 or offset < 0:
            raise ValueError("limit and offset must not be negative")
        where = and_(True, *_conditions(flt))
        rows_query = _ordered(select(*_ROW_COLUMNS).where(where))
        count_query = select(func.count()).select_from(BRIEF_INDEX).where(where)
        with self._store.reading() as conn:
            total = int(conn.execute(count_query).scalar_one())
            rows = conn.execute(rows_query.limit(limit).offset(offset)).all() if total > offset else []
        return Page(tuple(_row(r) for r in rows), total, limit, offset)

    def brief(self, brief_id: str) -> tuple[BriefRow, Brief] | None:
        """The listed row and the full Brief of a brief id, or None when there is no such brief."""
        joined = BRIEF_INDEX.join(BRIEFS, BRIEFS.c.key == _BI.key)
        query = select(*_ROW_COLUMNS, BRIEFS.c.data).select_from(joined).where(_BI.id == brief_id)
        with self._store.reading() as conn:
            row = conn.execute(query).first()
        return None if row is None else (_row(row), brief_from_dict(json.loads(row.data)))

    def full_briefs(self, keys: Sequence[str]) -> list[Brief]:
        """The full Briefs of these item keys, in the order given (unknown keys are skipped)."""
        query = select(BRIEFS.c.key, BRIEFS.c.data).where(BRIEFS.c.key.in_(list(keys)))
        with self._store.reading() as conn:
            found = {r.key: r.data for r in conn.execute(query)}
        return [brief_from_dict(json.loads(found[k])) for k in keys if k in found]

    def sources(self) -> list[str]:
        """Every source name that has a brief, sorted."""
        with self._store.reading() as conn:
            return list(conn.execute(select(_BI.source).distinct().order_by(_BI.source)).scalars())

    def count(self) -> int:
        """How many briefs the store holds."""
        with self._store.reading() as conn:
            return int(conn.execute(select(func.count()).select_from(BRIEF_INDEX)).scalar_one())

    def iocs(self, values: Sequence[str]) -> list[IocMatch]:
        """Briefs mentioning each value (refanged and normalised first; defanged input is fine).

        A bare domain or IP also finds URLs and e-mail addresses on that host (`how="host"`)."""
        matches: list[IocMatch] = []
        with self._store.reading() as conn:
            for raw in dict.fromkeys(v for v in values if v.strip()):
                norm = normalise_ioc(raw)
                found = or_(BRIEF_IOCS.c.norm == norm, BRIEF_IOCS.c.host == norm)
                columns = (*_ROW_COLUMNS, BRIEF_IOCS.c.kind, BRIEF_IOCS.c.norm)
                joined = BRIEF_INDEX.join(BRIEF_IOCS, BRIEF_IOCS.c.key == _BI.key)
                query = _ordered(select(*columns).select_from(joined).where(found)).limit(MATCHES_PER_IOC)
                for r in conn.execute(query):
                    how = "exact" if r.norm == norm else "host"
                    matches.append(IocMatch(norm, r.kind, r.norm, how, _row(r)))
        return matches

    def techniques(self, *, since: date | None = None, until: date | None = None) -> list[TechniqueCount]:
        """Every technique named by a brief dated in the window, most briefs first."""
        bt = BRIEF_TECHNIQUES.c
        query = (
            select(
                bt.technique,
                func.max(bt.name).label("name"),
                func.count().label("briefs"),
                func.max(bt.day).label("last_seen"),
            )
            .where(and_(True, *_days(bt.day, since, until)))
            .group_by(bt.technique)
            .order_by(func.count().desc(), BRIEF_TECHNIQUES.c.technique)
        )
        with self._store.reading() as conn:
            rows = conn.execute(query).all()
        return [TechniqueCount(r.technique, r.name, r.briefs, date.fromisoformat(r.last_seen)) for r in rows]

    def heatmap(self, start: date, end: date, *, bucket_days: int = 7, top: int = 25) -> Heatmap:
        """Counts of briefs per technique per `bucket_days` from `start` to `end` (inclusive days)."""
        if bucket_days < 1 or end < start:
            raise ValueError("need bucket_days >= 1 and start <= end")
        buckets = tuple(start + timedelta(days=d) for d in range(0, (end - start).days + 1, bucket_days))
        ranked = self.techniques(since=start, until=end)[:top]
        counts = {t.id: [0] * len(buckets) for t in ranked}
        bt = BRIEF_TECHNIQUES.c
        query = (
            select(bt.technique, bt.day, func.count().label("n"))
            .where(*_days(bt.day, start, end), bt.technique.in_(list(counts)))
            .group_by(bt.technique, bt.day)
        )
        with self._store.reading() as conn:
            for r in conn.execute(query):
                counts[r.technique][(date.fromisoformat(r.day) - start).days // bucket_days] += r.n
        rows = tuple((t, tuple(counts[t.id])) for t in ranked)
        return Heatmap(buckets, bucket_days, rows, max((max(c) for _, c in rows), default=0))
