"""The only Brief ⇄ plain-dict/JSON code, shared by the store, the JSON renderer and the API.

The dict shape is the public JSON schema (`schema/brief.schema.json`), versioned by
`schema_version`. `brief_from_dict(brief_to_dict(b)) == b` for every Brief.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from huntbrief.errors import ParseError
from huntbrief.model import (
    SCHEMA_VERSION,
    Brief,
    Confidence,
    Hunt,
    Indicator,
    IndicatorKind,
    IocFindings,
    Query,
    Severity,
    SeverityLevel,
    Suppressed,
    TechniqueHit,
    TextOrigin,
)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _date(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def indicator_to_dict(ind: Indicator) -> dict[str, Any]:
    """One kept indicator as the JSON `iocs[]` object."""
    return {
        "type": ind.kind.value,
        "value": ind.value,
        "defanged": ind.defanged,
        "confidence": ind.confidence.value,
        "evidence": ind.evidence,
    }


def suppressed_to_dict(sup: Suppressed) -> dict[str, Any]:
    """One rejected candidate as the JSON `suppressed[]` object."""
    return {"type": sup.kind.value, "value": sup.value, "reason": sup.reason}


def iocs_to_dict(found: IocFindings) -> dict[str, Any]:
    """IOC findings as `{"iocs": [...], "suppressed": [...]}`."""
    return {
        "iocs": [indicator_to_dict(i) for i in found.indicators],
        "suppressed": [suppressed_to_dict(s) for s in found.suppressed],
    }


def technique_to_dict(hit: TechniqueHit) -> dict[str, Any]:
    """One technique as the JSON `techniques[]` object."""
    return {
        "id": hit.id,
        "name": hit.name,
        "tactics": list(hit.tactics),
        "confidence": round(hit.confidence, 3),
        "evidence": list(hit.evidence),
    }


def hunt_to_dict(hunt: Hunt) -> dict[str, Any]:
    """One hunt as the JSON `hunts[]` object; `queries` maps backend name to query text."""
    return {
        "id": hunt.id,
        "title": hunt.title,
        "kind": hunt.kind,
        "phase": hunt.phase,
        "confidence": hunt.confidence.value,
        "techniques": list(hunt.techniques),
        "description": hunt.description,
        "queries": {q.backend: q.text for q in hunt.queries},
        "languages": {q.backend: q.language for q in hunt.queries},
        **({"attribution": hunt.attribution} if hunt.attribution else {}),
    }


def brief_to_dict(brief: Brief) -> dict[str, Any]:
    """A Brief as the plain dict of the public JSON schema."""
    return {
        "schema_version": brief.schema_version,
        "title": brief.title,
        "url": brief.url,
        "source": brief.source,
        "published": _iso(brief.published),
        "summary": brief.summary,
        "severity": {
            "level": brief.severity.level.value,
            "score": brief.severity.score,
            "reasons": list(brief.severity.reasons),
        },
        **iocs_to_dict(brief.iocs),
        "techniques": [technique_to_dict(t) for t in brief.techniques],
        "kill_chain": list(brief.kill_chain),
        "hunts": [hunt_to_dict(h) for h in brief.hunts],
        "content_hash": brief.content_hash,
        "text_origin": brief.origin.value,
        "item_key": brief.item_key,
        "changes": brief.changes,
        "analysed_at": _iso(brief.analysed_at),
    }


def _hunt_from_dict(d: dict[str, Any]) -> Hunt:
    langs = d.get("languages", {})
    return Hunt(
        id=d["id"],
        title=d["title"],
        phase=d["phase"],
        confidence=Confidence(d["confidence"]),
        techniques=tuple(d.get("techniques", ())),
        queries=tuple(Query(b, langs.get(b, b), text) for b, text in d.get("queries", {}).items()),
        description=d.get("description", ""),
        kind=d.get("kind", "usecase"),
        attribution=d.get("attribution", ""),
    )


def brief_from_dict(d: dict[str, Any]) -> Brief:
    """Rebuild a Brief from `brief_to_dict` output; raises ParseError on a wrong shape or version."""
    version = d.get("schema_version")
    if version != SCHEMA_VERSION:
        raise ParseError(f"unsupported brief schema_version {version!r} (expected {SCHEMA_VERSION})")
    try:
        return _brief_from_dict(d)
    except (KeyError, TypeError, ValueError) as exc:
        raise ParseError(f"malformed brief: {exc!r}") from exc


def _brief_from_dict(d: dict[str, Any]) -> Brief:
    sev = d["severity"]
    return Brief(
        title=d["title"],
        url=d.get("url"),
        source=d["source"],
        published=_date(d.get("published")),
        summary=d.get("summary", ""),
        severity=Severity(SeverityLevel(sev["level"]), int(sev["score"]), tuple(sev.get("reasons", ()))),
        iocs=IocFindings(
            indicators=tuple(
                Indicator(
                    IndicatorKind(i["type"]),
                    i["value"],
                    i["defanged"],
                    Confidence(i["confidence"]),
                    i.get("evidence", ""),
                )
                for i in d.get("iocs", ())
            ),
            suppressed=tuple(
                Suppressed(IndicatorKind(s["type"]), s["value"], s["reason"]) for s in d.get("suppressed", ())
            ),
        ),
        techniques=tuple(
            TechniqueHit(
                t["id"],
                t["name"],
                tuple(t.get("tactics", ())),
                float(t["confidence"]),
                tuple(t.get("evidence", ())),
            )
            for t in d.get("techniques", ())
        ),
        kill_chain=tuple(d.get("kill_chain", ())),
        hunts=tuple(_hunt_from_dict(h) for h in d.get("hunts", ())),
        content_hash=d["content_hash"],
        origin=TextOrigin(d.get("text_origin", TextOrigin.PAGE.value)),
        item_key=d.get("item_key"),
        changes=d.get("changes"),
        analysed_at=_date(d.get("analysed_at")),
    )


def brief_to_json(brief: Brief, *, indent: int | None = 2) -> str:
    """A Brief as JSON text (UTF-8, keys in schema order)."""
    return json.dumps(brief_to_dict(brief), indent=indent, ensure_ascii=False)


def brief_from_json(text: str) -> Brief:
    """Parse JSON text written by `brief_to_json`; raises ParseError on bad input."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ParseError(f"brief is not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise ParseError("brief JSON is not an object")
    return brief_from_dict(data)
