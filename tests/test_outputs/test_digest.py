"""`huntbrief digest`: window, severity groups, top techniques/IOCs, changes since the last digest."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import typer
from typer.testing import CliRunner

from huntbrief.adapters.render.digest import render_digest
from huntbrief.adapters.store import SqlStore, open_store
from huntbrief.app.cmd_digest import digest, make_digest
from huntbrief.digest import NEW, UNCHANGED, UPDATED, Version, build_digest, classify
from huntbrief.model import Brief, Severity, SeverityLevel
from tests.test_outputs.briefs import empty_brief, rich_brief

T0 = datetime(2026, 11, 21, 6, 0, tzinfo=UTC)


def _save(store: SqlStore, brief: Brief, at: datetime) -> None:
    key = brief.item_key or "x"
    store.save_brief(
        replace(brief, analysed_at=at), key=key, source=brief.source, url=brief.url, feed_hash=None, now=at
    )


def test_classify_against_the_baseline() -> None:
    brief = rich_brief()
    assert classify(brief, [Version(T0, SeverityLevel.HIGH)], T0 - timedelta(hours=1)) == (NEW, "")
    assert classify(brief, [Version(T0, SeverityLevel.HIGH)], T0 + timedelta(hours=1)) == (UNCHANGED, "")
    versions = [Version(T0 - timedelta(days=2), SeverityLevel.MEDIUM), Version(T0, SeverityLevel.HIGH)]
    change, detail = classify(replace(brief, changes="2 new IOCs"), versions, T0 - timedelta(hours=1))
    assert change == UPDATED and detail == "severity MEDIUM → HIGH; 2 new IOCs"


def test_build_groups_by_severity_and_ranks_techniques_and_iocs() -> None:
    a = rich_brief()
    b = replace(a, item_key="b", title="Other", severity=Severity(SeverityLevel.CRITICAL, 96, ()))
    c = replace(empty_brief(), item_key="c")
    result = build_digest([a, b, c], {}, now=T0, since=T0 - timedelta(days=1), previous=None)
    assert [level for level, _ in result.groups] == [
        SeverityLevel.CRITICAL,
        SeverityLevel.HIGH,
        SeverityLevel.INFO,
    ]
    assert result.top_techniques[0].count == 2 and result.top_techniques[0].level is SeverityLevel.CRITICAL
    assert all(r.count == 2 for r in result.top_iocs) and len(result.top_iocs) == 10
    assert result.count(NEW) == 3


def test_store_window_history_and_last_digest(tmp_path: Path) -> None:
    with open_store(tmp_path / "s.db") as store:
        assert store.last_digest() is None
        old = replace(rich_brief(), item_key="old", severity=Severity(SeverityLevel.MEDIUM, 40, ()))
        _save(store, old, T0 - timedelta(days=3))
        _save(store, replace(rich_brief(), item_key="gone"), T0 - timedelta(days=3))
        store.record_digest(
            at=T0 - timedelta(days=2), since=T0 - timedelta(days=3), min_level=None, brief_count=2
        )
        _save(store, replace(old, severity=Severity(SeverityLevel.HIGH, 70, ())), T0 - timedelta(hours=2))
        _save(store, replace(rich_brief(), item_key="fresh"), T0 - timedelta(hours=1))
        _save(store, replace(empty_brief(), item_key="quiet"), T0 - timedelta(hours=1))
        assert store.last_digest() == T0 - timedelta(days=2)
        result = make_digest(store, now=T0, window=timedelta(hours=24), min_level=SeverityLevel.MEDIUM)
    changes = {e.brief.item_key: (e.change, e.detail) for e in result.entries}
    assert changes == {"old": (UPDATED, "severity MEDIUM → HIGH"), "fresh": (NEW, "")}


def test_renders_markdown_html_json_and_navigator() -> None:
    hostile = replace(rich_brief(), title="<script>alert(1)</script> *x*", url="javascript:alert(1)")
    result = build_digest(
        [hostile], {}, now=T0, since=T0 - timedelta(days=1), previous=T0 - timedelta(days=1)
    )
    html = render_digest(result, "html")
    assert "<script>alert" not in html and "&lt;script&gt;" in html and 'href="javascript' not in html
    md = render_digest(result, "markdown")
    assert (
        "## HIGH (1)" in md and "\\*x\\*" in md and "## Top techniques" in md and "evil-cdn[.]example" in md
    )
    data = json.loads(render_digest(result, "json"))
    assert data["groups"]["HIGH"][0]["change"] == "new" and data["attack_version"]
    layer = json.loads(render_digest(result, "navigator"))
    assert layer["versions"]["layer"] == "4.5"


def test_cli_prints_and_records_unless_told_not_to(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    now = datetime.now(UTC)
    with open_store(db) as store:
        _save(store, rich_brief(), now - timedelta(hours=1))
        _save(store, replace(rich_brief(), item_key="ancient"), now - timedelta(days=5))
    cli = typer.Typer()
    cli.command()(digest)
    runner = CliRunner()
    out = runner.invoke(cli, ["--db", str(db), "--format", "json", "--no-record"])
    assert out.exit_code == 0, out.output
    assert [e["title"] for e in json.loads(out.stdout)["groups"]["HIGH"]] == [rich_brief().title]
    with open_store(db) as store:
        assert store.last_digest() is None
    target = tmp_path / "d.html"
    done = runner.invoke(
        cli, ["--db", str(db), "--since", "7d", "--min-severity", "high", "-f", "html", "--out", str(target)]
    )
    assert done.exit_code == 0, done.output
    assert target.read_text().count("<li>") == 2
    with open_store(db) as store:
        assert store.last_digest() is not None
    bad = runner.invoke(cli, ["--db", str(db), "--since", "soon"])
    assert bad.exit_code == 2 and "invalid duration" in bad.output
