"""Validate a parsed severity mapping into a `SeverityModel`; every CatalogError names the key path.

The exact keys each section must have are listed here, so a typo in `data/severity.yaml` or in
`huntbrief.toml [severity]` fails at load instead of silently scoring with a default.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, NoReturn

from huntbrief.catalog.severity_model import (
    Concepts,
    Gate,
    GateKind,
    SeverityModel,
    concepts_pattern,
    phrase_pattern,
)
from huntbrief.errors import CatalogError
from huntbrief.model import SeverityLevel

WEIGHT_KEYS = (
    "exploited_in_the_wild",
    "zero_day",
    "cve_first",
    "cve_each_more",
    "cve_max",
    "kev",
    "kev_ransomware",
    "severe_impact",
    "ransomware",
    "data_theft",
    "destructive",
    "named_actor",
    "named_malware",
    "tradecraft_each",
    "tradecraft_max",
    "ioc_high_each",
    "ioc_medium_each",
    "ioc_max",
    "technique_each",
    "technique_max",
    "tactic_each",
    "tactic_max",
    "recent",
    "stale",
)
CUE_KEYS = (
    "exploited_in_the_wild",
    "zero_day",
    "severe_impact",
    "ransomware",
    "data_theft",
    "destructive",
    "tradecraft",
)
LEVEL_KEYS = ("CRITICAL", "HIGH", "MEDIUM", "LOW")
SECTIONS = ("levels", "critical", "recency", "weights", "categories", "cues", "negation", "names", "gate")
URGENT_SIGNALS = ("exploited_in_the_wild", "zero_day", "kev")


class _Check:
    """Validation helpers that raise CatalogError at one location with the key path."""

    def __init__(self, location: str) -> None:
        self.location = location

    def fail(self, key: str, message: str) -> NoReturn:
        raise CatalogError(f"{key}: {message}", location=self.location)

    def mapping(self, value: object, key: str) -> Mapping[str, Any]:
        if not isinstance(value, Mapping):
            self.fail(key, "must be a mapping")
        return value

    def number(self, value: object, key: str, low: float = 0, high: float = 1e9) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
            self.fail(key, f"must be a number from {low:g} to {high:g}")
        return float(value)

    def phrases(self, value: object, key: str) -> re.Pattern[str]:
        if (
            not isinstance(value, list)
            or not value
            or not all(isinstance(v, str) and v.strip() for v in value)
        ):
            self.fail(key, "must be a non-empty list of phrases")
        return phrase_pattern(value)

    def regex(self, value: object, key: str) -> re.Pattern[str]:
        if not isinstance(value, str):
            self.fail(key, "must be a regular expression string")
        try:
            return re.compile(value)
        except re.error as exc:
            self.fail(key, f"invalid regular expression: {exc}")

    def exact_keys(self, value: Mapping[str, Any], key: str, expected: tuple[str, ...] | list[str]) -> None:
        missing, extra = set(expected) - set(value), set(value) - set(expected)
        if missing or extra:
            self.fail(key, f"missing {sorted(missing)}, unknown {sorted(extra)}; expected {list(expected)}")


def _levels(check: _Check, data: Mapping[str, Any]) -> tuple[tuple[SeverityLevel, float], ...]:
    levels = check.mapping(data.get("levels"), "levels")
    check.exact_keys(levels, "levels", LEVEL_KEYS)
    values = [check.number(levels[k], f"levels.{k}", 0, 100) for k in LEVEL_KEYS]
    if any(a <= b for a, b in zip(values, values[1:], strict=False)):
        check.fail(
            "levels", f"thresholds must be strictly descending CRITICAL > HIGH > MEDIUM > LOW: {values}"
        )
    return tuple((SeverityLevel(k), v) for k, v in zip(LEVEL_KEYS, values, strict=True))


def _numbers(check: _Check, data: Mapping[str, Any], key: str) -> Mapping[str, float]:
    section = check.mapping(data.get(key), key)
    return MappingProxyType({str(k): check.number(v, f"{key}.{k}") for k, v in section.items()})


def _concepts(check: _Check, value: object, key: str) -> Concepts:
    check.phrases(value, key)
    assert isinstance(value, list)  # checked by phrases()
    return concepts_pattern(value)


def _names(check: _Check, data: Mapping[str, Any]) -> tuple[Any, Any, frozenset[str], int]:
    names = check.mapping(data.get("names"), "names")
    patterns = []
    for key in ("actor_patterns", "malware_patterns"):
        raw = names.get(key)
        if not isinstance(raw, list) or not raw:
            check.fail(f"names.{key}", "must be a non-empty list of regular expressions")
        patterns.append(tuple(check.regex(p, f"names.{key}[{i}]") for i, p in enumerate(raw)))
    stop = names.get("not_names", [])
    if not isinstance(stop, list) or not all(isinstance(s, str) for s in stop):
        check.fail("names.not_names", "must be a list of words")
    mentions = int(check.number(names.get("min_mentions", 1), "names.min_mentions", 1, 100))
    return patterns[0], patterns[1], frozenset(stop), mentions


def _gate(check: _Check, data: Mapping[str, Any]) -> Gate:
    gate = check.mapping(data.get("gate"), "gate")
    kinds = check.mapping(gate.get("kinds"), "gate.kinds")
    if not kinds:
        check.fail("gate.kinds", "must name at least one kind of non-threat article")
    parsed = []
    for name, entry in kinds.items():
        where = f"gate.kinds.{name}"
        entry = check.mapping(entry, where)
        if not isinstance(entry.get("reason"), str) or not entry["reason"].strip():
            check.fail(f"{where}.reason", "must be a non-empty sentence")
        parsed.append(
            GateKind(str(name), entry["reason"].strip(), check.phrases(entry.get("cues"), f"{where}.cues"))
        )
    low, high = (check.number(gate.get(k), f"gate.{k}", 0, 1) for k in ("relevance_low", "relevance_high"))
    if low > high:
        check.fail("gate", f"relevance_low ({low:g}) must not exceed relevance_high ({high:g})")
    return Gate(
        title_weight=check.number(gate.get("title_weight"), "gate.title_weight", 0, 100),
        min_cues=check.number(gate.get("min_cues"), "gate.min_cues", 0, 1000),
        dominance=check.number(gate.get("dominance"), "gate.dominance", 0, 100),
        max_iocs=int(check.number(gate.get("max_iocs"), "gate.max_iocs", 0, 1000)),
        max_techniques=int(check.number(gate.get("max_techniques"), "gate.max_techniques", 0, 1000)),
        relevance_low=low,
        relevance_high=high,
        threat=check.phrases(gate.get("threat_cues"), "gate.threat_cues"),
        kinds=tuple(parsed),
    )


def _critical(check: _Check, data: Mapping[str, Any]) -> frozenset[str]:
    section = check.mapping(data.get("critical"), "critical")
    check.exact_keys(section, "critical", ("requires_any",))
    required = section["requires_any"]
    if not isinstance(required, list) or not set(required) <= set(URGENT_SIGNALS) or not required:
        check.fail("critical.requires_any", f"must be a non-empty list drawn from {list(URGENT_SIGNALS)}")
    return frozenset(required)


def _recency(check: _Check, data: Mapping[str, Any]) -> tuple[float, float]:
    section = check.mapping(data.get("recency"), "recency")
    check.exact_keys(section, "recency", ("recent_days", "stale_days"))
    recent = check.number(section["recent_days"], "recency.recent_days", 0, 36500)
    stale = check.number(section["stale_days"], "recency.stale_days", 0, 36500)
    if stale <= recent:
        check.fail("recency", f"stale_days ({stale:g}) must be greater than recent_days ({recent:g})")
    return recent, stale


def build_model(data: object, location: str) -> SeverityModel:
    """Validate a parsed severity mapping into a SeverityModel; CatalogError names the key path."""
    check = _Check(location)
    root = check.mapping(data, "<top>")
    check.exact_keys(root, "<top>", SECTIONS)
    weights = _numbers(check, root, "weights")
    check.exact_keys(weights, "weights", WEIGHT_KEYS)
    cues = check.mapping(root.get("cues"), "cues")
    check.exact_keys(cues, "cues", CUE_KEYS)
    negation = check.mapping(root.get("negation"), "negation")
    actors, malware, not_names, mentions = _names(check, root)
    recency = _recency(check, root)
    return SeverityModel(
        levels=_levels(check, root),
        weights=weights,
        categories=_numbers(check, root, "categories"),
        cues=MappingProxyType({k: _concepts(check, cues[k], f"cues.{k}") for k in CUE_KEYS}),
        negation=check.phrases(negation.get("cues"), "negation.cues"),
        negation_window=int(check.number(negation.get("window"), "negation.window", 0, 1000)),
        actor_patterns=actors,
        malware_patterns=malware,
        not_names=not_names,
        name_min_mentions=mentions,
        gate=_gate(check, root),
        critical_requires=_critical(check, root),
        recent_days=recency[0],
        stale_days=recency[1],
    )
