"""Brief → JSON, through serialize.py (the one Brief encoding)."""

from __future__ import annotations

import json as _json

from huntbrief.adapters.render.provenance import provenance
from huntbrief.model import Brief
from huntbrief.serialize import brief_to_dict


class JsonRenderer:
    """JSON of the public schema (`schema/brief.schema.json`), with the brief's provenance."""

    name = "json"
    extension = "json"

    def render(self, brief: Brief) -> str:
        """The brief as indented JSON text with a trailing newline."""
        data = {**brief_to_dict(brief), "provenance": provenance(brief).as_dict()}
        return _json.dumps(data, indent=2, ensure_ascii=False) + "\n"

    def render_index(self, briefs: list[tuple[Brief, str]]) -> str:
        """`{"briefs": [...]}` newest first, each with title, file, severity and counts."""
        rows = [
            {
                "title": b.title,
                "file": f"{stem}.json",
                "url": b.url,
                "source": b.source,
                "published": b.published.isoformat() if b.published else None,
                "severity": b.severity.level.value,
                "score": b.severity.score,
                "iocs": len(b.iocs.indicators),
                "techniques": len(b.techniques),
                "item_key": b.item_key,
            }
            for b, stem in briefs
        ]
        return _json.dumps({"schema_version": 1, "briefs": rows}, indent=2, ensure_ascii=False) + "\n"
