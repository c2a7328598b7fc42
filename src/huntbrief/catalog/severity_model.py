"""The typed severity model: level thresholds, weights, compiled cue concepts and the threat-report gate.

`phrase_pattern` and `concepts_pattern` compile the declarative cue phrases of `data/severity.yaml`
(see its header) into whole-word patterns; `severity_build` validates the data into these types.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from huntbrief.model import SeverityLevel


@dataclass(frozen=True, slots=True)
class GateKind:
    """One kind of non-threat article (partnership, product…): its reason sentence and cue pattern."""

    name: str
    reason: str
    pattern: re.Pattern[str]


@dataclass(frozen=True, slots=True)
class Gate:
    """When an article is not a threat report: cue patterns and the evidence limits that keep it one."""

    title_weight: float
    min_cues: float
    dominance: float
    max_iocs: int
    max_techniques: int
    relevance_low: float
    relevance_high: float
    threat: re.Pattern[str]
    kinds: tuple[GateKind, ...]


@dataclass(frozen=True, slots=True)
class SeverityModel:
    """Everything `stages.severity.score` needs: thresholds, weights, compiled cues and the gate."""

    levels: tuple[tuple[SeverityLevel, float], ...]
    weights: Mapping[str, float]
    categories: Mapping[str, float]
    cues: Mapping[str, Concepts]
    negation: re.Pattern[str]
    negation_window: int
    actor_patterns: tuple[re.Pattern[str], ...]
    malware_patterns: tuple[re.Pattern[str], ...]
    not_names: frozenset[str]
    name_min_mentions: int
    gate: Gate
    critical_requires: frozenset[str]
    recent_days: float
    stale_days: float

    def level_for(self, score: float) -> SeverityLevel:
        """The level whose threshold `score` reaches (thresholds descend); INFO below them all."""
        return next((level for level, floor in self.levels if score >= floor), SeverityLevel.INFO)


def _alternation(phrases: list[str] | tuple[str, ...]) -> str:
    parts = []
    alternatives = [p.strip() for entry in phrases for p in entry.split("|") if p.strip()]
    for phrase in sorted(alternatives, key=len, reverse=True):
        stem, wildcard = (phrase[:-1], r"\w*") if phrase.endswith("*") else (phrase, "")
        words = [re.escape(w) for w in re.split(r"[\s-]+", stem.strip()) if w]
        parts.append(r"[\s-]*".join(words) + wildcard)
    return "|".join(parts)


def phrase_pattern(phrases: list[str] | tuple[str, ...]) -> re.Pattern[str]:
    """Compile cue phrases into one case-insensitive whole-word pattern (see severity.yaml header)."""
    return re.compile(r"(?<!\w)(?:" + _alternation(phrases) + r")(?!\w)", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Concepts:
    """Cue concepts: `labels[i]` names concept i, and a match's group `c<i>` says which concept matched."""

    labels: tuple[str, ...]
    pattern: re.Pattern[str]

    def concept(self, match: re.Match[str]) -> int:
        """The index of the concept a match of `pattern` belongs to."""
        return int((match.lastgroup or "c0")[1:])


def concepts_pattern(entries: list[str] | tuple[str, ...]) -> Concepts:
    """One pattern for all concepts (an entry each, " | " between synonyms), labelled by the first synonym."""
    groups = "|".join(f"(?P<c{i}>{_alternation([entry])})" for i, entry in enumerate(entries))
    labels = tuple(entry.split("|")[0].strip().rstrip("*") for entry in entries)
    return Concepts(labels, re.compile(r"(?<!\w)(?:" + groups + r")(?!\w)", re.IGNORECASE))
