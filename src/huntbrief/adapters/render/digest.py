"""Digest → Markdown, HTML (Jinja2, autoescaped) or JSON; and → a Navigator layer of the window."""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

import jinja2

from huntbrief import __version__
from huntbrief.adapters.render.markdown import escape_markdown
from huntbrief.adapters.render.naming import brief_stem
from huntbrief.adapters.render.navigator import layer_json, navigator_layer
from huntbrief.adapters.render.provenance import attack_version, iso_z
from huntbrief.digest import Digest, DigestEntry, Ranked

DIGEST_FORMATS = ("markdown", "html", "json", "navigator")


@lru_cache(maxsize=2)
def _environment(html: bool) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("huntbrief.adapters.render", "templates"),
        autoescape=html,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["md"] = escape_markdown
    env.filters["iso"] = iso_z
    return env


def render_digest(digest: Digest, fmt: str) -> str:
    """The digest as `markdown`, `html`, `json` or a `navigator` layer; ValueError for another format."""
    if fmt == "json":
        return json.dumps(digest_to_dict(digest), indent=2, ensure_ascii=False) + "\n"
    if fmt == "navigator":
        briefs = [e.brief for e in digest.entries]
        name = f"huntbrief digest since {iso_z(digest.since)}"
        return layer_json(navigator_layer(briefs, name, f"{len(briefs)} brief(s) in the window."))
    if fmt not in ("markdown", "html"):
        raise ValueError(f"unknown digest format {fmt!r}; valid: {', '.join(DIGEST_FORMATS)}")
    template = _environment(fmt == "html").get_template(f"digest.{'md' if fmt == 'markdown' else 'html'}.j2")
    return template.render(d=digest, version=__version__, attack=attack_version(), stem=brief_stem)


def _entry(entry: DigestEntry) -> dict[str, Any]:
    b = entry.brief
    return {
        "title": b.title,
        "url": b.url,
        "source": b.source,
        "file": brief_stem(b),
        "published": iso_z(b.published) if b.published else None,
        "analysed_at": iso_z(b.analysed_at) if b.analysed_at else None,
        "severity": b.severity.level.value,
        "score": b.severity.score,
        "change": entry.change,
        "detail": entry.detail,
        "iocs": len(b.iocs.indicators),
        "techniques": [t.id for t in b.techniques],
        "content_hash": b.content_hash,
    }


def _ranked(r: Ranked, key: str, label: str) -> dict[str, Any]:
    return {key: r.key, label: r.label, "briefs": r.count, "max_severity": r.level.value}


def digest_to_dict(d: Digest) -> dict[str, Any]:
    """The digest as plain JSON-ready data, with the provenance of its making."""
    return {
        "generated_at": iso_z(d.generated_at),
        "since": iso_z(d.since),
        "previous_digest": iso_z(d.previous) if d.previous else None,
        "min_severity": d.min_level.value if d.min_level else None,
        "changes": {c: d.count(c) for c in ("new", "updated", "unchanged")},
        "groups": {level.value: [_entry(e) for e in group] for level, group in d.groups},
        "top_techniques": [_ranked(r, "id", "name") for r in d.top_techniques],
        "top_iocs": [_ranked(r, "value", "type") for r in d.top_iocs],
        "huntbrief_version": __version__,
        "attack_version": attack_version(),
    }
