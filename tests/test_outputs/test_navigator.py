"""ATT&CK Navigator layers: valid against the 4.5 layer schema kept here; scores, colours, window."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from huntbrief.adapters.render.naming import brief_stem
from huntbrief.adapters.render.navigator import SEVERITY_COLORS, NavigatorRenderer, attack_major
from huntbrief.model import Severity, SeverityLevel
from tests.test_outputs.briefs import empty_brief, rich_brief

SCHEMA = json.loads((Path(__file__).parent / "navigator_layer_4_5.schema.json").read_text())


def _check(text: str) -> dict[str, Any]:
    layer: dict[str, Any] = json.loads(text)
    jsonschema.Draft202012Validator(SCHEMA).validate(layer)
    return layer


def test_the_schema_rejects_what_navigator_would() -> None:
    good = _check(NavigatorRenderer(attack_version="18.1").render(rich_brief()))
    for broken in (
        {**good, "versions": {**good["versions"], "layer": "4.4"}},
        {**good, "domain": "enterprise"},
        {**good, "techniques": [{"techniqueID": "1059"}]},
        {**good, "techniques": [{"techniqueID": "T1059", "color": "red"}]},
    ):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.Draft202012Validator(SCHEMA).validate(broken)


@pytest.mark.parametrize("brief", [rich_brief(), empty_brief()], ids=["rich", "empty"])
def test_per_brief_layer(brief: Any) -> None:
    layer = _check(NavigatorRenderer(attack_version="18.1").render(brief))
    assert layer["versions"] == {"attack": "18", "navigator": "5.2.0", "layer": "4.5"}
    assert layer["domain"] == "enterprise-attack"
    assert [t["techniqueID"] for t in layer["techniques"]] == sorted(t.id for t in brief.techniques)
    meta = {m["name"]: m["value"] for m in layer["metadata"]}
    assert meta["content_hash"] == brief.content_hash and meta["attack_version"] == "18.1"


def test_aggregate_scores_count_briefs_and_colour_by_highest_severity() -> None:
    low = replace(rich_brief(), item_key="low", title="Low one", severity=Severity(SeverityLevel.LOW, 10, ()))
    crit = replace(
        rich_brief(), item_key="crit", title="Critical one", techniques=rich_brief().techniques[:1]
    )
    crit = replace(crit, severity=Severity(SeverityLevel.CRITICAL, 99, ()))
    layer = _check(NavigatorRenderer(attack_version="18.1").render_index([(crit, "a"), (low, "b")]))
    cells = {t["techniqueID"]: t for t in layer["techniques"]}
    assert cells["T1071.001"]["score"] == 2
    assert cells["T1071.001"]["color"] == SEVERITY_COLORS[SeverityLevel.CRITICAL]
    assert cells["T1071.001"]["comment"] == "Critical one; Low one"
    assert cells["T1486"]["score"] == 1 and cells["T1486"]["color"] == SEVERITY_COLORS[SeverityLevel.LOW]
    assert layer["gradient"]["maxValue"] == 2


def test_window_keeps_only_recent_briefs() -> None:
    old = replace(rich_brief(), item_key="old", published=datetime(2026, 1, 1, tzinfo=UTC))
    new = rich_brief()
    renderer = NavigatorRenderer(window=timedelta(days=7), attack_version="18.1")
    layer = _check(renderer.render_index([(new, brief_stem(new)), (old, brief_stem(old))]))
    assert {t["score"] for t in layer["techniques"]} == {1}
    assert attack_major("18.1") == "18"
