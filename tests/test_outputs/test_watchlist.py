"""CSV watchlists: Splunk lookup and Sentinel watchlist shapes, merged across briefs; text lists."""

from __future__ import annotations

import csv
import io
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from huntbrief.adapters.output import BriefWriter
from huntbrief.adapters.render import get_renderers
from huntbrief.adapters.render.naming import brief_stem
from huntbrief.adapters.render.watchlist import SENTINEL_FIELDS, SPLUNK_FIELDS, CsvRenderer, safe_text
from huntbrief.model import Confidence, Indicator, IndicatorKind, IocFindings, Severity, SeverityLevel
from tests.test_outputs.briefs import VALUES, rich_brief


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_per_brief_csv_is_a_splunk_lookup_with_one_row_per_indicator() -> None:
    brief = rich_brief()
    text = CsvRenderer().render(brief)
    assert text.splitlines()[0] == ",".join(SPLUNK_FIELDS)
    rows = _rows(text)
    assert {(r["type"], r["indicator"]) for r in rows} == {(k.value, v) for k, v in VALUES.items()}
    ipv4 = next(r for r in rows if r["type"] == "ipv4")
    assert ipv4["first_seen"] == "2026-11-20T09:30:00Z"
    assert ipv4["brief_id"] == brief_stem(brief)
    assert ipv4["confidence"] == "high" and ipv4["severity"] == "HIGH" and ipv4["brief_count"] == "1"
    url = next(r for r in rows if r["type"] == "url")
    assert url["indicator"] == VALUES[IndicatorKind.URL]  # quotes and backslashes survive CSV quoting


def test_index_merges_briefs_and_sentinel_has_its_own_header() -> None:
    first = rich_brief()
    second = replace(
        first,
        item_key="second",
        title="Second report",
        published=datetime(2026, 11, 25, tzinfo=UTC),
        severity=Severity(SeverityLevel.CRITICAL, 95, ()),
        iocs=IocFindings((Indicator(IndicatorKind.IPV4, VALUES[IndicatorKind.IPV4], "", Confidence.MEDIUM),)),
    )
    pairs = [(second, brief_stem(second)), (first, brief_stem(first))]
    rows = _rows(CsvRenderer().render_index(pairs))
    ip = next(r for r in rows if r["type"] == "ipv4")
    assert ip["brief_count"] == "2"
    assert (ip["first_seen"], ip["last_seen"]) == ("2026-11-20T09:30:00Z", "2026-11-25T00:00:00Z")
    assert ip["brief_id"] == brief_stem(second) and ip["title"] == "Second report"
    assert ip["severity"] == "CRITICAL" and ip["confidence"] == "high"
    files = CsvRenderer().render_index_files(pairs)
    sentinel = files["watchlist-sentinel.csv"]
    assert sentinel.splitlines()[0] == ",".join(SENTINEL_FIELDS)
    assert len(_rows(sentinel)) == len(rows)
    assert files["watchlist-ipv4.txt"] == VALUES[IndicatorKind.IPV4] + "\n"
    assert "watchlist-file_name.txt" not in files  # only low-confidence file names: not in value lists


def test_free_text_cannot_become_a_spreadsheet_formula() -> None:
    assert safe_text("=HYPERLINK(1)") == "'=HYPERLINK(1)"
    assert safe_text("  -2+3") == "'-2+3"
    assert safe_text("LockDrift =x") == "LockDrift =x"


def test_writer_writes_extras_and_removes_stale_lists(tmp_path: Path) -> None:
    writer = BriefWriter(tmp_path, get_renderers(("csv",)))
    brief = rich_brief()
    writer.write(brief)
    writer.write_index([brief])
    assert (tmp_path / "watchlist-sha256.txt").is_file()
    assert (tmp_path / "index.csv").is_file() and (tmp_path / f"{brief_stem(brief)}.csv").is_file()
    fewer = replace(
        brief, iocs=IocFindings((Indicator(IndicatorKind.DOMAIN, "a.example", "", Confidence.HIGH),))
    )
    writer.write_index([fewer])
    assert sorted(p.name for p in tmp_path.glob("watchlist-*")) == [
        "watchlist-domain.txt",
        "watchlist-sentinel.csv",
    ]
