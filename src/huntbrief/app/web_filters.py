"""Form input of the HTML pages → typed filters. Empty fields mean "no filter"; bad values are a 400."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import date
from urllib.parse import urlencode

from fastapi import HTTPException

from huntbrief.adapters.queries import BriefFilter
from huntbrief.model import SeverityLevel
from huntbrief.stages.refang import refang

TECHNIQUE_ID = r"^[Tt]\d{4}(\.\d{3})?$"
MAX_IOCS = 50
MAX_TEXT = 200
_SPLIT = re.compile(r"[\s,;]+")
_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def iso_day(value: object) -> object:
    """Let only a YYYY-MM-DD string through to date parsing (not pydantic's timestamps like "0.0")."""
    if isinstance(value, str) and not _ISO_DAY.fullmatch(value):
        raise ValueError("expected a date as YYYY-MM-DD")
    return value


def _level(text: str, field: str) -> SeverityLevel:
    try:
        return SeverityLevel(text.strip().upper())
    except ValueError:
        raise HTTPException(400, f"{field}: unknown severity {text[:40]!r}") from None


def _day(text: str, field: str) -> date | None:
    if not text.strip():
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise HTTPException(400, f"{field}: not a date (YYYY-MM-DD): {text[:40]!r}") from None


def form_filter(form: Mapping[str, str], levels: Sequence[str]) -> BriefFilter:
    """A BriefFilter from the list page's query string; raises HTTPException(400) on a bad value."""
    technique = form.get("technique", "").strip()
    if technique and not re.match(TECHNIQUE_ID, technique):
        raise HTTPException(400, f"technique: not an ATT&CK ID like T1059 or T1059.001: {technique[:40]!r}")
    minimum = form.get("min_severity", "").strip()
    return BriefFilter(
        levels=tuple(_level(v, "severity") for v in levels if v.strip()),
        min_level=_level(minimum, "min_severity") if minimum else None,
        source=form.get("source", "").strip() or None,
        since=_day(form.get("since", ""), "since"),
        until=_day(form.get("until", ""), "until"),
        technique=technique.upper() or None,
        text=form.get("q", "").strip()[:MAX_TEXT] or None,
    )


def filter_params(flt: BriefFilter) -> list[tuple[str, str]]:
    """The query-string pairs that reproduce `flt` (for paging links)."""
    pairs = [("severity", lv.value) for lv in flt.levels]
    optional = {
        "min_severity": flt.min_level.value if flt.min_level else None,
        "source": flt.source,
        "since": flt.since.isoformat() if flt.since else None,
        "until": flt.until.isoformat() if flt.until else None,
        "technique": flt.technique,
        "q": flt.text,
    }
    return pairs + [(k, v) for k, v in optional.items() if v]


def with_page(flt: BriefFilter, page: int) -> str:
    """A relative list-page URL ("?…") for `flt` at page `page` (never another host)."""
    return "?" + urlencode([*filter_params(flt), ("page", str(page))])


def split_iocs(text: str) -> list[str]:
    """Pasted indicators, refanged, split on white space, commas and semicolons; at most MAX_IOCS, no repeats.

    Refanging first keeps a spaced-out defang such as `evil [ . ] com` in one piece."""
    return list(dict.fromkeys(v for v in _SPLIT.split(refang(text).text) if v))[:MAX_IOCS]
