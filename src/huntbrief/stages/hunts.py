"""Plan hunts: named use cases for the inferred techniques, then IOC sweeps for the indicators.

Matching policy:
- direct match: a use case tagged with the inferred technique, or with the parent of an inferred
  sub-technique (a generic T1543 hunt also covers an inferred T1543.003);
- broader match: when only a parent technique (T1543) was inferred, use cases tagged with one of
  its sub-techniques (T1543.003) are offered too, one confidence step lower, because the text did
  not say which variant was used.
Hunt confidence is the use case's confidence, lowered one step when the best matching technique
was inferred with confidence below 0.6, and one more step for a broader match (never below Low).
Use-case hunts are ranked by hunt confidence, then use-case confidence, then technique confidence
(highest first), then id; sweeps follow in the order of the sweep templates.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

from huntbrief.catalog.sweeps import SweepQuery, SweepTemplates
from huntbrief.catalog.usecases import QUERY_LANGUAGES, UseCase, UseCaseLibrary
from huntbrief.errors import ConfigError
from huntbrief.model import Confidence, Hunt, Indicator, IndicatorKind, IocFindings, Query, TechniqueHit

WEAK_INFERENCE = 0.6  # technique confidence below this lowers the hunt's confidence one step
_LEVELS = (Confidence.HIGH, Confidence.MEDIUM, Confidence.LOW)


def _backslash_quoted(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def quote_spl(value: str) -> str:
    """A Splunk SPL double-quoted string literal: `\\` and `"` escaped with a backslash."""
    return _backslash_quoted(value)


def quote_kql(value: str) -> str:
    """A KQL double-quoted (non-verbatim) string literal: `\\` and `"` escaped with a backslash."""
    return _backslash_quoted(value)


QUOTERS: Mapping[str, Callable[[str], str]] = MappingProxyType(
    {"spl": quote_spl, "kql": quote_kql, "esql": _backslash_quoted}
)


@dataclass(frozen=True, slots=True)
class _Match:
    usecase: UseCase
    technique_confidence: float
    broad: bool
    technique: str = ""

    @property
    def confidence(self) -> Confidence:
        steps = int(self.technique_confidence < WEAK_INFERENCE) + int(self.broad)
        return _lower(self.usecase.confidence, steps)


def _lower(confidence: Confidence, steps: int) -> Confidence:
    return _LEVELS[min(_LEVELS.index(confidence) + steps, len(_LEVELS) - 1)]


def _strength(match: _Match) -> tuple[int, float]:
    return -_LEVELS.index(match.confidence), match.technique_confidence


def _matches(techniques: Iterable[TechniqueHit], library: UseCaseLibrary) -> list[_Match]:
    best: dict[str, _Match] = {}
    for hit in techniques:
        candidates = [_Match(uc, hit.confidence, False, hit.id) for uc in library.for_technique(hit.id)]
        candidates += [_Match(uc, hit.confidence, True, hit.id) for uc in library.narrower(hit.id)]
        for candidate in candidates:
            current = best.get(candidate.usecase.id)
            if current is None or _strength(candidate) > _strength(current):
                best[candidate.usecase.id] = candidate
    return sorted(best.values(), key=_rank)


def _rank(match: _Match) -> tuple[int, int, float, str]:
    return (
        _LEVELS.index(match.confidence),
        _LEVELS.index(match.usecase.confidence),
        -match.technique_confidence,
        match.usecase.id,
    )


def _usecase_hunt(match: _Match, backends: Sequence[str]) -> Hunt | None:
    usecase = match.usecase
    queries = tuple(
        Query(backend, QUERY_LANGUAGES[backend], text)
        for backend in backends
        if (text := usecase.query(backend)) is not None
    )
    if not queries:
        return None
    return Hunt(
        id=usecase.id,
        title=usecase.title,
        phase=usecase.phase,
        confidence=match.confidence,
        techniques=usecase.techniques,
        queries=queries,
        description=usecase.description,
        kind=usecase.kind,
        attribution=usecase.attribution,
    )


def render_sweep(query: SweepQuery, values: Sequence[str], max_values: int) -> tuple[Query, ...]:
    """Fill a sweep template with quoted values, at most `max_values` values per query."""
    language = QUERY_LANGUAGES[query.backend]
    quote = QUOTERS[language]
    rendered = []
    for start in range(0, len(values), max_values):
        chunk = values[start : start + max_values]
        literals = ", ".join(quote(p.replace("{value}", v)) for v in chunk for p in query.patterns)
        text = query.template.replace("{values}", literals).rstrip()
        rendered.append(Query(query.backend, language, text))
    return tuple(rendered)


def _sweepable(value: str) -> bool:
    return bool(value) and not any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in value)


def _best_confidence(indicators: Iterable[Indicator]) -> Confidence:
    return min((i.confidence for i in indicators), key=_LEVELS.index, default=Confidence.LOW)


def _sweep_hunts(iocs: IocFindings, sweeps: SweepTemplates, backends: Sequence[str]) -> list[Hunt]:
    hunts = []
    for template in sweeps.templates:
        chosen = [i for i in iocs.indicators if i.kind in template.kinds and _sweepable(i.value)]
        values = list(dict.fromkeys(i.value for i in chosen))
        queries = tuple(
            rendered
            for backend in backends
            if (query := template.query(backend)) is not None
            for rendered in render_sweep(query, values, sweeps.max_values)
        )
        if not queries:
            continue
        hunts.append(
            Hunt(
                id=template.id,
                title=template.title.replace("{count}", str(len(values))),
                phase=template.phase,
                confidence=_best_confidence(chosen),
                queries=queries,
                description=template.description,
                kind="sweep",
            )
        )
    return hunts


@dataclass(frozen=True, slots=True)
class SigmaLimits:
    """How many hunts from SigmaHQ rules one brief may carry, in all and per inferred technique."""

    total: int = 10
    per_technique: int = 3


_CVE = re.compile(r"CVE-\d{4}-\d{4,7}", re.IGNORECASE)


def _cve_fit(usecase: UseCase, cves: frozenset[str]) -> int | None:
    """0 for a rule about a CVE the brief names, 1 for a rule about no CVE, None for another CVE's rule."""
    named = {c.upper() for c in _CVE.findall(f"{usecase.title} {usecase.description}")}
    if not named:
        return 1
    return 0 if named & cves else None


def _sigma_hunts(
    techniques: Sequence[TechniqueHit],
    iocs: IocFindings,
    sigma: UseCaseLibrary,
    backends: Sequence[str],
    limits: SigmaLimits,
) -> list[Hunt]:
    """The best-ranked rule hunts, spread over the techniques (a busy technique cannot take them all).

    Among rules of equal hunt confidence, a rule whose techniques the brief shows in larger part comes
    first (a rule for exactly what the article describes before a rule for a long list of techniques).
    A rule written for one CVE is offered only when the brief names that CVE, and then first.
    """
    inferred = {hit.id for hit in techniques}
    cves = frozenset(i.value.upper() for i in iocs.indicators if i.kind is IndicatorKind.CVE)

    def key(match: _Match, cve_fit: int) -> tuple[int | float | str, ...]:
        tags = match.usecase.techniques
        shown = sum(1 for t in tags if t in inferred)
        level, usecase_level, technique_confidence, uid = _rank(match)
        return (cve_fit, level, -shown / max(len(tags), 1), -shown, usecase_level, technique_confidence, uid)

    candidates = [
        (m, fit) for m in _matches(techniques, sigma) if (fit := _cve_fit(m.usecase, cves)) is not None
    ]
    ranked = [m for m, _ in sorted(candidates, key=lambda pair: key(*pair))]
    per_technique: dict[str, int] = {}
    hunts: list[Hunt] = []
    for match in ranked:
        if len(hunts) >= limits.total:
            break
        if per_technique.get(match.technique, 0) >= limits.per_technique:
            continue
        hunt = _usecase_hunt(match, backends)
        if hunt is not None:
            per_technique[match.technique] = per_technique.get(match.technique, 0) + 1
            hunts.append(hunt)
    return hunts


def plan_hunts(
    techniques: Sequence[TechniqueHit],
    iocs: IocFindings,
    library: UseCaseLibrary,
    sweeps: SweepTemplates,
    backends: Sequence[str] = ("splunk", "kql"),
    *,
    sigma: UseCaseLibrary | None = None,
    sigma_limits: SigmaLimits = SigmaLimits(),
) -> tuple[Hunt, ...]:
    """Use-case hunts for the inferred techniques (ranked), then hunts from SigmaHQ rules (`sigma`,
    ranked the same way, capped by `sigma_limits`), then IOC sweeps; pure and deterministic.

    No techniques means no use-case hunts; an unknown backend name raises ConfigError.
    """
    unknown = [b for b in backends if b not in QUERY_LANGUAGES]
    if unknown:
        valid = ", ".join(QUERY_LANGUAGES)
        raise ConfigError(f"unknown query backend(s) {', '.join(unknown)}; valid: {valid}", "backends")
    usecase_hunts = (_usecase_hunt(m, backends) for m in _matches(techniques, library))
    rule_hunts = _sigma_hunts(techniques, iocs, sigma, backends, sigma_limits) if sigma is not None else []
    return (
        tuple(h for h in usecase_hunts if h is not None)
        + tuple(rule_hunts)
        + tuple(_sweep_hunts(iocs, sweeps, backends))
    )
