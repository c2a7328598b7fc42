"""Brief → STIX 2.1 bundle (stix2): report, indicators, vulnerabilities, attack-patterns, relationships.

Every ID is a UUIDv5 of the object's content identity, so a re-analysed article updates the same
objects (same IDs, later `modified`) instead of duplicating them. `stix2` is imported on first use.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from huntbrief.adapters.render.provenance import (
    brief_identity,
    first_seen,
    last_changed,
    provenance,
    stable_uuid,
)
from huntbrief.adapters.render.stix_patterns import stix_pattern
from huntbrief.errors import ConfigError
from huntbrief.model import Brief, Confidence, Indicator, IndicatorKind, TechniqueHit

TLP_EXTENSION = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"
# The OASIS TLP 2.0 marking definitions (well-known IDs, created 2022-10-01).
TLP_MARKINGS = {
    "clear": "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
    "green": "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
    "amber": "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
    "amber+strict": "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
    "red": "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
}
# STIX 2.1 confidence scale, "None/Low/Med/High" mapping (appendix A).
_CONFIDENCE = {Confidence.HIGH: 85, Confidence.MEDIUM: 50, Confidence.LOW: 15}
_REFERENCE_TIME = datetime(2024, 1, 1, tzinfo=UTC)  # created/modified of huntbrief's constant objects
IDENTITY_ID = f"identity--{stable_uuid('identity', 'huntbrief')}"
EXTENSION_ID = f"extension-definition--{stable_uuid('extension-definition', 'huntbrief-report', '1')}"


def tlp_marking(level: str) -> dict[str, Any]:
    """The OASIS TLP 2.0 marking-definition for `clear`, `green`, `amber`, `amber+strict` or `red`."""
    key = level.strip().lower().removeprefix("tlp:")
    if key not in TLP_MARKINGS:
        raise ConfigError(f"unknown TLP level {level!r}; valid: {', '.join(TLP_MARKINGS)}")
    return {
        "type": "marking-definition",
        "spec_version": "2.1",
        "id": TLP_MARKINGS[key],
        "created": "2022-10-01T00:00:00.000Z",
        "name": f"TLP:{key.upper()}",
        "extensions": {TLP_EXTENSION: {"extension_type": "property-extension", "tlp_2_0": key}},
    }


def attack_url(technique_id: str) -> str:
    """The ATT&CK website page of a technique or sub-technique."""
    return "https://attack.mitre.org/techniques/" + technique_id.replace(".", "/") + "/"


def _normal(text: str) -> str:
    return " ".join(text.split()).casefold()


def supports(indicator: Indicator, hit: TechniqueHit) -> bool:
    """True when the indicator was found in a sentence that is also evidence for the technique."""
    ioc = _normal(indicator.evidence)
    if not ioc:
        return False
    return any(ioc in ev or ev in ioc for ev in map(_normal, hit.evidence) if ev)


class StixRenderer:
    """A STIX 2.1 bundle per brief; `tlp` marks every object (default TLP:CLEAR)."""

    name = "stix"
    extension = "stix.json"

    def __init__(self, tlp: str = "clear", attack_version: str | None = None) -> None:
        self.marking = tlp_marking(tlp)
        self.attack_version = attack_version

    def render(self, brief: Brief) -> str:
        """The brief as a STIX 2.1 bundle (indented JSON, deterministic for a given brief)."""
        import stix2

        objects = list(_Builder(brief, self.marking["id"], self.attack_version).objects())
        report_id = objects[-1]["id"]
        bundle = {
            "type": "bundle",
            "id": f"bundle--{stable_uuid('bundle', report_id, brief.content_hash)}",
            "objects": [self.marking, _identity(), _extension_definition(), *objects],
        }
        parsed = stix2.parse(bundle, allow_custom=True)  # validates every object; raises on a bad one
        return json.dumps(json.loads(parsed.serialize()), indent=2, ensure_ascii=False) + "\n"

    def render_index(self, briefs: list[tuple[Brief, str]]) -> str:
        """`{"bundles": [...]}`: one row per brief with its file and report ID, newest first."""
        rows = [
            {
                "file": f"{stem}.{self.extension}",
                "report_id": f"report--{stable_uuid('report', brief_identity(b))}",
                "title": b.title,
                "severity": b.severity.level.value,
            }
            for b, stem in briefs
        ]
        return json.dumps({"bundles": rows}, indent=2, ensure_ascii=False) + "\n"


def _extension_definition() -> dict[str, Any]:
    return {
        "type": "extension-definition",
        "spec_version": "2.1",
        "id": EXTENSION_ID,
        "created_by_ref": IDENTITY_ID,
        "created": _REFERENCE_TIME,
        "modified": _REFERENCE_TIME,
        "name": "huntbrief report properties",
        "description": "The severity and provenance huntbrief attaches to each report.",
        "schema": "severity: {level: CRITICAL|HIGH|MEDIUM|LOW|INFO, score: integer 0-100}; provenance: "
        "{article_url, source, published, analysed_at, content_hash, huntbrief_version, attack_version}",
        "version": "1.0.0",
        "extension_types": ["property-extension"],
    }


def _identity() -> dict[str, Any]:
    return {
        "type": "identity",
        "spec_version": "2.1",
        "id": IDENTITY_ID,
        "created": _REFERENCE_TIME,
        "modified": _REFERENCE_TIME,
        "name": "huntbrief",
        "description": "Threat briefs generated automatically from security articles by huntbrief.",
        "identity_class": "system",
    }


class _Builder:
    """Builds the bundle's objects for one brief; the report comes last and refers to all others."""

    def __init__(self, brief: Brief, marking: str, attack_version: str | None) -> None:
        self.brief = brief
        self.marking = marking
        self.created = first_seen(brief)
        self.modified = last_changed(brief)
        self.provenance = provenance(brief, attack_version)

    def _common(self, kind: str, *identity: str) -> dict[str, Any]:
        return {
            "type": kind,
            "spec_version": "2.1",
            "id": f"{kind}--{stable_uuid(kind, *identity)}",
            "created": self.created,
            "modified": self.modified,
            "created_by_ref": IDENTITY_ID,
            "object_marking_refs": [self.marking],
        }

    def objects(self) -> Iterator[dict[str, Any]]:
        """Indicators, vulnerabilities, attack-patterns, relationships, then the report."""
        iocs = self.brief.iocs.indicators
        indicators = [(i, self._indicator(i, p)) for i in iocs if (p := stix_pattern(i))]
        patterns = {t.id: self._attack_pattern(t) for t in self.brief.techniques}
        relationships = [
            self._relationship(obj["id"], patterns[hit.id]["id"], ind.evidence)
            for ind, obj in indicators
            for hit in self.brief.techniques
            if supports(ind, hit)
        ]
        found = [obj for _, obj in indicators]
        found += [self._vulnerability(i) for i in iocs if i.kind is IndicatorKind.CVE]
        found += [*patterns.values(), *relationships]
        yield from found
        yield self._report([o["id"] for o in found])

    def _indicator(self, ind: Indicator, pattern: str) -> dict[str, Any]:
        return {
            **self._common("indicator", pattern),
            "name": f"{ind.kind.value} {ind.value}",
            "description": ind.evidence or f"Reported in: {self.brief.title}",
            "indicator_types": ["malicious-activity"],
            "pattern": pattern,
            "pattern_type": "stix",
            "pattern_version": "2.1",
            "valid_from": self.created,
            "confidence": _CONFIDENCE[ind.confidence],
            "labels": [ind.kind.value],
        }

    def _vulnerability(self, ind: Indicator) -> dict[str, Any]:
        cve = ind.value.upper()
        return {
            **self._common("vulnerability", cve),
            "name": cve,
            "description": ind.evidence or f"Reported in: {self.brief.title}",
            "external_references": [
                {"source_name": "cve", "external_id": cve, "url": f"https://www.cve.org/CVERecord?id={cve}"}
            ],
        }

    def _attack_pattern(self, hit: TechniqueHit) -> dict[str, Any]:
        ref = {"source_name": "mitre-attack", "external_id": hit.id, "url": attack_url(hit.id)}
        phases = [{"kill_chain_name": "mitre-attack", "phase_name": t} for t in hit.tactics]
        return {
            **self._common("attack-pattern", hit.id),
            "created": _REFERENCE_TIME,
            "modified": _REFERENCE_TIME,
            "name": hit.name,
            "external_references": [ref],
            **({"kill_chain_phases": phases} if phases else {}),
        }

    def _relationship(self, source: str, target: str, evidence: str) -> dict[str, Any]:
        return {
            **self._common("relationship", source, "indicates", target),
            "relationship_type": "indicates",
            "source_ref": source,
            "target_ref": target,
            "description": evidence,
        }

    def _report(self, refs: list[str]) -> dict[str, Any]:
        b = self.brief
        reference = {"source_name": b.source or "article", "url": b.url} if b.url else None
        return {
            **self._common("report", brief_identity(b)),
            "name": b.title,
            "description": f"{b.summary}\n\n{self.provenance.as_text()}".strip(),
            "published": self.created,
            "report_types": ["threat-report"],
            "labels": [f"severity-{b.severity.level.value.lower()}"],
            "object_refs": refs or [IDENTITY_ID],
            **({"external_references": [reference]} if reference else {}),
            "extensions": {
                EXTENSION_ID: {
                    "extension_type": "property-extension",
                    "severity": {"level": b.severity.level.value, "score": b.severity.score},
                    "provenance": {k: v for k, v in self.provenance.as_dict().items() if v},
                }
            },
        }
