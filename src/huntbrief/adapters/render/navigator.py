"""Brief(s) → ATT&CK Navigator layer (format 4.5, enterprise-attack).

Score = how many briefs report a technique; colour = the highest severity among them; comment
= their titles. One layer per brief, and one over the indexed briefs (optionally a time window).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from huntbrief.adapters.render.provenance import attack_version, first_seen, provenance
from huntbrief.model import Brief, SeverityLevel

LAYER_VERSION = "4.5"
NAVIGATOR_VERSION = "5.2.0"
DOMAIN = "enterprise-attack"
SEVERITY_COLORS = {
    SeverityLevel.CRITICAL: "#d7191c",
    SeverityLevel.HIGH: "#fdae61",
    SeverityLevel.MEDIUM: "#ffffbf",
    SeverityLevel.LOW: "#abd9e9",
    SeverityLevel.INFO: "#e0e0e0",
}
_MAX_LISTED = 20  # briefs named per technique (comment, metadata, links)


@dataclass(slots=True)
class _Cell:
    """What the layer says about one technique while briefs are being added."""

    level: SeverityLevel
    titles: list[str] = field(default_factory=list)
    urls: list[tuple[str, str]] = field(default_factory=list)


def attack_major(version: str) -> str:
    """The ATT&CK major version Navigator expects (`18.1` → `18`)."""
    return version.split(".", 1)[0]


def navigator_layer(
    briefs: Sequence[Brief], name: str, description: str = "", attack: str | None = None
) -> dict[str, Any]:
    """A layer-format-4.5 dict over `briefs` (newest first): score = briefs per technique."""
    cells: dict[str, _Cell] = {}
    for brief in briefs:
        for hit in brief.techniques:
            cell = cells.setdefault(hit.id, _Cell(brief.severity.level))
            cell.level = min(cell.level, brief.severity.level, key=lambda s: s.rank)
            cell.titles.append(brief.title)
            if brief.url:
                cell.urls.append((brief.title, brief.url))
    top = max((len(c.titles) for c in cells.values()), default=1)
    version = attack if attack is not None else attack_version()
    return {
        "name": name,
        "versions": {"attack": attack_major(version), "navigator": NAVIGATOR_VERSION, "layer": LAYER_VERSION},
        "domain": DOMAIN,
        "description": description,
        "sorting": 3,
        "layout": {"layout": "side", "showID": True, "showName": True, "expandedSubtechniques": "annotated"},
        "hideDisabled": False,
        "techniques": [_technique(tid, cells[tid]) for tid in sorted(cells)],
        "gradient": {"colors": ["#ffffff", "#66b1ff"], "minValue": 0, "maxValue": max(top, 1)},
        "legendItems": [
            {"label": f"Highest severity {lv.value}", "color": c} for lv, c in SEVERITY_COLORS.items()
        ],
        "metadata": [
            {"name": "briefs", "value": str(len(briefs))},
            {"name": "attack_version", "value": version},
        ],
    }


def _technique(tid: str, cell: _Cell) -> dict[str, Any]:
    titles = list(dict.fromkeys(cell.titles))
    links = list(dict.fromkeys(cell.urls))[:_MAX_LISTED]
    return {
        "techniqueID": tid,
        "score": len(cell.titles),
        "color": SEVERITY_COLORS[cell.level],
        "comment": "; ".join(titles[:_MAX_LISTED]) + ("; …" if len(titles) > _MAX_LISTED else ""),
        "enabled": True,
        "metadata": [{"name": "severity", "value": cell.level.value}]
        + [{"name": "brief", "value": t} for t in titles[:_MAX_LISTED]],
        "links": [
            {"label": title[:80], "url": url}
            for title, url in links
            if url.startswith(("http://", "https://"))
        ],
    }


def layer_json(layer: dict[str, Any]) -> str:
    """The layer as indented JSON text with a trailing newline."""
    return json.dumps(layer, indent=2, ensure_ascii=False) + "\n"


class NavigatorRenderer:
    """A Navigator layer per brief, and one over the indexed briefs (within `window` of the newest)."""

    name = "navigator"
    extension = "layer.json"

    def __init__(self, window: timedelta | None = None, attack_version: str | None = None) -> None:
        self.window = window
        self.attack_version = attack_version

    def render(self, brief: Brief) -> str:
        """The brief's techniques as a layer; metadata carries the brief's provenance."""
        layer = navigator_layer([brief], brief.title[:200], brief.summary, self.attack_version)
        origin = provenance(brief, self.attack_version).as_dict()
        layer["metadata"] = [{"name": k, "value": v} for k, v in origin.items() if v]
        if brief.url and brief.url.startswith(("http://", "https://")):
            layer["links"] = [{"label": "Source article", "url": brief.url}]
        return layer_json(layer)

    def render_index(self, briefs: list[tuple[Brief, str]]) -> str:
        """One layer over the indexed briefs (those within the window of the newest, if set)."""
        chosen = [b for b, _ in briefs]
        if self.window is not None and chosen:
            newest = max(first_seen(b) for b in chosen)
            chosen = [b for b in chosen if first_seen(b) >= newest - self.window]
        name = f"huntbrief: techniques across {len(chosen)} brief(s)"
        return layer_json(navigator_layer(chosen, name, _span(chosen), self.attack_version))


def _span(briefs: Sequence[Brief]) -> str:
    if not briefs:
        return "No briefs."
    times = sorted(first_seen(b) for b in briefs)
    return f"Briefs first seen {times[0].date().isoformat()} to {times[-1].date().isoformat()}."
