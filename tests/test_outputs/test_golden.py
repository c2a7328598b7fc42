"""Golden renders of the bundled example for the SOC renderers, and re-run stability.

The example's briefs are kept as a snapshot (tests/golden/briefs/example-briefs.json) so these
goldens change only when a renderer changes. `pytest tests/test_outputs --update-golden`
re-runs the example, refreshes the snapshot and rewrites every golden file: review the diff.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jsonschema
import pytest
from pymisp import MISPEvent
from stix2validator import ValidationOptions, validate_string

from huntbrief.adapters.output import BriefWriter
from huntbrief.adapters.render import RENDERERS, get_renderers
from huntbrief.config import FORMAT_NAMES
from huntbrief.model import Brief
from huntbrief.serialize import brief_from_dict, brief_to_dict
from tests.test_outputs.example import ROOT, run_example
from tests.test_outputs.test_navigator import SCHEMA

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "briefs"
SNAPSHOT = GOLDEN / "example-briefs.json"
FORMATS = ("markdown", "json", "stix", "misp", "csv", "navigator")
ANALYSED = datetime(2026, 11, 28, 7, 0, tzinfo=UTC)


# The example's article URLs are file URLs under the checkout: kept in the snapshot as under CHECKOUT,
# so the goldens do not depend on where the repository was cloned.
CHECKOUT = "file:///checkout"


def _example_json(tmp_path: Path) -> str:
    briefs = run_example(tmp_path, ANALYSED, ("json",))
    text = json.dumps([brief_to_dict(b) for b in briefs], indent=2, ensure_ascii=False) + "\n"
    return text.replace(ROOT.as_uri(), CHECKOUT)


def _snapshot(update: bool, tmp_path: Path) -> list[Brief]:
    if update:
        GOLDEN.mkdir(parents=True, exist_ok=True)
        SNAPSHOT.write_text(_example_json(tmp_path), encoding="utf-8")
    return [brief_from_dict(d) for d in json.loads(SNAPSHOT.read_text(encoding="utf-8"))]


def test_snapshot_is_what_the_pipeline_makes_of_the_example_today(tmp_path: Path) -> None:
    """The snapshot is the pipeline's golden output: any change to a stage shows up here."""
    fresh = json.loads(_example_json(tmp_path))
    kept = json.loads(SNAPSHOT.read_text(encoding="utf-8"))
    assert [b["title"] for b in fresh] == [b["title"] for b in kept]
    for new, old in zip(fresh, kept, strict=True):
        assert new == old, f"{new['title']}: the pipeline's brief changed (refresh with --update-golden)"


def test_format_names_in_config_match_the_renderer_table() -> None:
    assert tuple(RENDERERS) == FORMAT_NAMES
    assert {r.extension for r in get_renderers(FORMAT_NAMES)} == {
        "md",
        "json",
        "stix.json",
        "misp.json",
        "csv",
        "layer.json",
    }


def test_golden_renders_of_the_bundled_example(tmp_path: Path, update_golden: bool) -> None:
    briefs = _snapshot(update_golden, tmp_path / "run")
    assert len(briefs) >= 5 and any(b.iocs.indicators for b in briefs) and any(b.techniques for b in briefs)
    out = tmp_path / "render"
    writer = BriefWriter(out, get_renderers(FORMATS))
    for brief in briefs:
        writer.write(brief)
    writer.write_index(briefs)
    rendered = {p.name: p.read_text(encoding="utf-8") for p in sorted(out.iterdir())}
    if update_golden:
        for old in GOLDEN.iterdir():
            if old != SNAPSHOT:
                old.unlink()
        for name, text in rendered.items():
            (GOLDEN / name).write_text(text, encoding="utf-8")
    expected = {p.name: p.read_text(encoding="utf-8") for p in sorted(GOLDEN.iterdir()) if p != SNAPSHOT}
    assert sorted(rendered) == sorted(expected), "run `pytest tests/test_outputs --update-golden`"
    for name, text in rendered.items():
        assert text == expected[name], f"{name} differs from its golden file (refresh with --update-golden)"


# The fields that record when a brief was made: they must move on re-analysis, and nothing else may.
# `analysed_at` is part of the provenance both outputs carry (STIX report, MISP event report).
_ANALYSED = r"analysed_at(?:=|: |\": \")\d{4}-\d\d-\d\dT[\d:]+Z"
_STIX_TIMES = re.compile(rf'"modified": "[^"]*"|{_ANALYSED}')
_MISP_TIMES = re.compile(rf'"timestamp": "\d+"|{_ANALYSED}')


def _masked(text: str, pattern: re.Pattern[str]) -> tuple[str, list[str]]:
    return pattern.sub("…", text), pattern.findall(text)


def test_rerun_with_unchanged_content_changes_only_the_timestamps(tmp_path: Path) -> None:
    later = ANALYSED + timedelta(minutes=30)  # same day: severity's recency reasons do not move
    first = run_example(tmp_path / "a", ANALYSED, ("stix", "misp"))
    second = run_example(tmp_path / "b", later, ("stix", "misp"))
    assert [b.content_hash for b in first] == [b.content_hash for b in second]
    a_files = sorted(p.name for p in (tmp_path / "a" / "out").iterdir())
    assert a_files == sorted(p.name for p in (tmp_path / "b" / "out").iterdir())
    compared = 0
    for name in a_files:
        if name.startswith("index."):
            continue
        pattern = _STIX_TIMES if name.endswith(".stix.json") else _MISP_TIMES
        old, old_times = _masked((tmp_path / "a" / "out" / name).read_text(), pattern)
        new, new_times = _masked((tmp_path / "b" / "out" / name).read_text(), pattern)
        assert old == new, f"{name}: more than the timestamps changed"
        for when, times, other in ((ANALYSED, old_times, new_times), (later, new_times, old_times)):
            marks = (when.strftime("%Y-%m-%dT%H:%M:%S"), str(int(when.timestamp())))
            assert any(m in t for t in times for m in marks), f"{name}: analysis time {when} missing"
            assert not any(m in t for t in other for m in marks), f"{name}: {when} left in the other run"
        compared += 1
    assert compared == 2 * len(first)


def test_rendering_the_same_brief_twice_is_byte_identical() -> None:
    briefs = [brief_from_dict(d) for d in json.loads(SNAPSHOT.read_text(encoding="utf-8"))]
    for renderer in get_renderers(FORMATS):
        assert [renderer.render(b) for b in briefs] == [renderer.render(replace(b)) for b in briefs]


@pytest.mark.parametrize("name", FORMATS)
def test_every_soc_output_names_its_provenance(name: str) -> None:
    snapshot = [brief_from_dict(d) for d in json.loads(SNAPSHOT.read_text(encoding="utf-8"))]
    brief = next(b for b in snapshot if b.iocs.indicators and b.url)
    renderer = get_renderers((name,))[0]
    text = renderer.render(brief)
    if name == "csv":  # one row per indicator: the brief ID, time and article URL, per row
        assert brief.url and brief.url in text
        return
    labels = ("ATT&CK v", "huntbrief ") if name == "markdown" else ("attack_version", "huntbrief_version")
    for part in (brief.content_hash, brief.url or "", *labels):
        assert part in text, (name, part)


def test_golden_outputs_pass_their_validators() -> None:

    checked = 0
    for path in sorted(GOLDEN.iterdir()):
        text = path.read_text(encoding="utf-8")
        if path.name.endswith(".stix.json") and not path.name.startswith("index."):
            result = validate_string(text, ValidationOptions(version="2.1", enforce_refs=True))
            assert result.is_valid, (path.name, [str(e) for e in result.errors])
        elif path.name.endswith(".misp.json") and not path.name.startswith("index."):
            MISPEvent().load(text)
        elif path.name.endswith(".layer.json"):
            jsonschema.Draft202012Validator(SCHEMA).validate(json.loads(text))
        else:
            continue
        checked += 1
    assert checked == 3 * (len(json.loads(SNAPSHOT.read_text(encoding="utf-8")))) + 1
