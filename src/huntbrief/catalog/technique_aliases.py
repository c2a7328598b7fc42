"""Curated behaviour phrases per ATT&CK technique, plus the context cues the attack stage uses.

`technique_aliases.yaml` is data: each technique ID must exist in the catalogue and carry its exact
ATT&CK name (a guard against typos in IDs). Every regex is compiled once here, at load, and kept
on the returned `TechniqueAliases`, together with the index of exact technique names.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from importlib import resources
from itertools import accumulate
from pathlib import Path
from types import MappingProxyType
from typing import Any

from huntbrief.catalog.attack import AttackCatalog, Technique
from huntbrief.catalog.datafile import compile_pattern, key_line, required_literals, yaml_mapping
from huntbrief.errors import CatalogError

PACKAGED_NAME = "technique_aliases.yaml"
# Technique IDs as written in prose, tables and attack.mitre.org URLs (T1059, T1059.001, T1059/001),
# also when extraction glued them to the previous word ("AccessT1555.003"). Upper-case T only.
_EXPLICIT_ID = r"(?<![0-9A-Z_.])T\d{4}(?:[./]\d{3})?(?!\d)"
_WORD = r"[a-z0-9]+"
_CONTEXT_KEYS = ("clause_break", "negation", "hypothetical", "marketing", "adversary")
_CONFIDENCE_KEYS = ("explicit", "phrase", "name", "per_extra_sentence", "max_inferred")


@dataclass(frozen=True, slots=True)
class PhraseRule:
    """One technique's curated phrases as a single regex; matches inside `shadows` do not count."""

    technique: str
    pattern: re.Pattern[str]
    shadows: tuple[str, ...] = ()
    anchors: frozenset[str] = frozenset()  # lower-case literals one of which every match contains

    def may_match(self, lowered: str) -> bool:
        """False only when no match is possible: none of the anchors occurs in the lower-cased text."""
        return not self.anchors or any(anchor in lowered for anchor in self.anchors)


@dataclass(frozen=True, slots=True)
class ContextCues:
    """Precompiled regexes that qualify a sentence or clause (each a union of the YAML list)."""

    clause_break: re.Pattern[str]
    negation: re.Pattern[str]
    hypothetical: re.Pattern[str]
    marketing: re.Pattern[str]
    adversary: re.Pattern[str]


@dataclass(frozen=True, slots=True)
class ConfidencePolicy:
    """Base confidence per evidence layer, the bonus per extra sentence, and the cap for inferred hits."""

    explicit: float
    phrase: float
    name: float
    per_extra_sentence: float
    max_inferred: float


@dataclass(frozen=True, slots=True)
class TechniqueAliases:
    """Everything the rule layer matches with, compiled once for one catalogue."""

    catalog_version: str
    phrases: tuple[PhraseRule, ...]
    names: Mapping[tuple[str, ...], str]
    name_first_words: frozenset[str]
    name_shadows: Mapping[str, tuple[str, ...]]
    max_name_words: int
    context: ContextCues
    confidence: ConfidencePolicy
    explicit_id: re.Pattern[str]
    word: re.Pattern[str]


def load_technique_aliases(catalog: AttackCatalog, path: Path | None = None) -> TechniqueAliases:
    """Load the packaged (path None) or a given aliases YAML, validated against `catalog`.

    Raises CatalogError (file:line where known) on an unknown technique ID, a name that does not
    match the catalogue, a bad regex, or a phrase that matches a bare group/malware name.
    """
    if path is None:
        resource = resources.files("huntbrief.catalog").joinpath("data", PACKAGED_NAME)
        return aliases_from_text(resource.read_text(encoding="utf-8"), catalog, f"huntbrief/{PACKAGED_NAME}")
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise CatalogError(f"cannot read technique aliases: {exc}", location=str(path)) from exc
    return aliases_from_text(text, catalog, str(path))


def aliases_from_text(text: str, catalog: AttackCatalog, location: str) -> TechniqueAliases:
    """Parse, validate and compile technique-aliases YAML text; never reads files."""
    data = yaml_mapping(text, location)
    word = re.compile(_WORD)
    entities = _entity_names(catalog)
    generic = _generic_names(data, catalog, text, location)
    names, name_shadows = _name_index(catalog, generic, entities.kinds, word)
    return TechniqueAliases(
        catalog_version=catalog.version,
        phrases=_phrase_rules(data, catalog, entities, text, location),
        names=MappingProxyType(names),
        name_first_words=frozenset(words[0] for words in names),
        name_shadows=MappingProxyType(name_shadows),
        max_name_words=max((len(k) for k in names), default=0),
        context=ContextCues(*(_union(data, "context", k, text, location) for k in _CONTEXT_KEYS)),
        confidence=_confidence(data, location),
        explicit_id=re.compile(_EXPLICIT_ID),
        word=word,
    )


def _phrase_rules(
    data: Mapping[str, Any], catalog: AttackCatalog, entities: _EntityIndex, text: str, location: str
) -> tuple[PhraseRule, ...]:
    raw = data.get("techniques")
    if not isinstance(raw, dict) or not raw:
        raise CatalogError("'techniques' must map technique IDs to {name, phrases}", location=location)
    rules = []
    for tid, entry in raw.items():
        where = f"{location}:{key_line(text, str(tid))}"
        technique = _checked_technique(catalog, str(tid), entry, where)
        phrases = entry.get("phrases")
        if not isinstance(phrases, list) or not phrases or not all(isinstance(p, str) for p in phrases):
            raise CatalogError(f"{tid}: 'phrases' must be a non-empty list of regexes", location=where)
        pattern = _union_pattern(phrases, where)
        anchors = [required_literals(p) for p in phrases]
        rule = PhraseRule(
            technique.id, pattern, (), frozenset().union(*anchors) if all(anchors) else frozenset()
        )
        rules.append(replace(rule, shadows=_shadows(rule, entities, where)))
    return tuple(rules)


def _checked_technique(catalog: AttackCatalog, tid: str, entry: Any, where: str) -> Technique:
    technique = catalog.techniques.get(tid)
    if technique is None:
        raise CatalogError(f"unknown ATT&CK technique ID '{tid}' (ATT&CK {catalog.version})", location=where)
    if not isinstance(entry, dict):
        raise CatalogError(f"{tid}: entry must be a mapping with 'name' and 'phrases'", location=where)
    if str(entry.get("name", "")).casefold() != technique.name.casefold():
        raise CatalogError(f"{tid}: name {entry.get('name')!r} is not {technique.name!r}", location=where)
    return technique


def _union_pattern(patterns: list[str], where: str) -> re.Pattern[str]:
    """One case-insensitive regex matching any of `patterns`; a bad one is named in the error."""
    try:
        return re.compile("|".join(f"(?:{p})" for p in patterns), re.IGNORECASE)
    except re.error:
        for pattern in patterns:
            compile_pattern(pattern, where)
        raise CatalogError(f"bad regex union {patterns!r}", location=where) from None


def _shadows(rule: PhraseRule, entities: _EntityIndex, where: str) -> tuple[str, ...]:
    """Group/software names inside which a match is only part of a name, never evidence."""
    shadows = []
    for lowered in entities.containing(rule.anchors):
        found = rule.pattern.search(lowered)
        if found is None:
            continue
        kind = entities.kinds[lowered]
        if found.group(0) == lowered and kind != "tool":
            raise CatalogError(f"{rule.technique}: a phrase matches the bare {kind} name {lowered!r}", where)
        if found.group(0) != lowered:
            shadows.append(lowered)
    return tuple(sorted(shadows))


@dataclass(frozen=True, slots=True)
class _EntityIndex:
    """Lower-cased group and software names with their kind, and a fast search by literal."""

    kinds: Mapping[str, str]
    joined: str
    starts: tuple[int, ...]

    def containing(self, anchors: frozenset[str]) -> list[str]:
        """Names that contain one of the anchors (every name when there are none), in order."""
        names = list(self.kinds)
        if not anchors:
            return names
        hits: set[int] = set()
        for anchor in anchors:
            at = self.joined.find(anchor)
            while at != -1:
                hits.add(bisect_right(self.starts, at) - 1)
                at = self.joined.find(anchor, at + 1)
        return [names[i] for i in sorted(hits)]


def _entity_names(catalog: AttackCatalog) -> _EntityIndex:
    """Every group and software name or alias, lowercased, with its kind (group, malware, tool)."""
    kinds: dict[str, str] = {}
    for entity in (*catalog.groups.values(), *catalog.software.values()):
        for name in entity.names:
            kinds.setdefault(name.lower(), entity.kind)
    starts = tuple(accumulate((len(name) + 1 for name in list(kinds)[:-1]), initial=0))
    return _EntityIndex(MappingProxyType(kinds), "\n".join(kinds), starts)


def _generic_names(data: Mapping[str, Any], catalog: AttackCatalog, text: str, location: str) -> set[str]:
    raw = data.get("generic_names", [])
    if not isinstance(raw, list) or not all(isinstance(n, str) for n in raw):
        raise CatalogError("'generic_names' must be a list of technique names", location=location)
    known = {t.name.casefold() for t in catalog.techniques.values()}
    for name in raw:
        if name.casefold() not in known:
            line = text.count("\n", 0, max(text.find(f"- {name}"), 0)) + 1
            raise CatalogError(f"generic_names: {name!r} is no ATT&CK technique name", f"{location}:{line}")
    return {n.casefold() for n in raw}


def _name_index(
    catalog: AttackCatalog, generic: set[str], entities: Mapping[str, str], word: re.Pattern[str]
) -> tuple[dict[tuple[str, ...], str], dict[str, tuple[str, ...]]]:
    """Word tuples of unambiguous, specific technique names of two or more words -> technique ID."""
    by_words: dict[tuple[str, ...], set[str]] = {}
    for technique in catalog.techniques.values():
        words = tuple(word.findall(technique.name.lower()))
        if (
            len(words) >= 2
            and technique.name.casefold() not in generic
            and technique.name.lower() not in entities
        ):
            by_words.setdefault(words, set()).add(technique.id)
    names = {words: next(iter(ids)) for words, ids in by_words.items() if len(ids) == 1}
    shadows: dict[str, set[str]] = {}
    for lowered in entities:
        for tid in _names_within(tuple(word.findall(lowered)), names):
            shadows.setdefault(tid, set()).add(lowered)
    return names, {tid: tuple(sorted(s)) for tid, s in shadows.items()}


def _names_within(words: tuple[str, ...], names: Mapping[tuple[str, ...], str]) -> Iterable[str]:
    for size in range(2, len(words) + 1):
        for start in range(len(words) - size + 1):
            if words[start : start + size] in names:
                yield names[words[start : start + size]]


def _union(data: Mapping[str, Any], section: str, key: str, text: str, location: str) -> re.Pattern[str]:
    raw = data.get(section, {})
    patterns = raw.get(key) if isinstance(raw, dict) else None
    where = f"{location}:{key_line(text, key)}"
    if isinstance(patterns, str):
        patterns = [patterns]
    if not isinstance(patterns, list) or not patterns or not all(isinstance(p, str) for p in patterns):
        raise CatalogError(f"{section}.{key} must be a non-empty list of regexes", location=where)
    for pattern in patterns:
        compile_pattern(pattern, where)
    return compile_pattern("|".join(f"(?:{p})" for p in patterns), where)


def _confidence(data: Mapping[str, Any], location: str) -> ConfidencePolicy:
    raw = data.get("confidence")
    if not isinstance(raw, dict):
        raise CatalogError("'confidence' must map layer names to numbers", location=location)
    values = []
    for key in _CONFIDENCE_KEYS:
        value = raw.get(key)
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0.0 <= value <= 1.0:
            raise CatalogError(f"confidence.{key} must be a number in [0, 1]", location=location)
        values.append(float(value))
    return ConfidencePolicy(*values)
