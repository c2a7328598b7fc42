"""Score how urgent an article is: a threat-report gate first, then weighted signals with plain reasons.

Every reason names a fact a reader can check in the article (CVE IDs, actor names, indicator counts);
none of them counts rules. The signals themselves are computed in `severity_signals`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection, Sequence
from datetime import UTC, datetime

from huntbrief.catalog.kev import KevCatalog
from huntbrief.catalog.relevance import Relevance
from huntbrief.catalog.severity import SeverityModel
from huntbrief.model import Article, IndicatorKind, IocFindings, Severity, SeverityLevel, TechniqueHit
from huntbrief.stages.severity_signals import (
    EXPLOITED,
    Signal,
    all_signals,
    cves_in,
    listing,
    names_in,
    plural,
)

__all__ = ["EXPLOITED", "NOT_A_REPORT", "cves_in", "names_in", "score", "threat_report_gate"]

MAX_REASONS = 5
_URGENT_NAMES = {
    "exploited_in_the_wild": "exploitation in the wild",
    "zero_day": "zero-day",
    "kev": "CISA KEV CVE",
}
NOT_A_REPORT = "Not a threat report: no adversary activity described."


def _fallbacks(iocs: IocFindings, techniques: Sequence[TechniqueHit], exploited: bool) -> list[str]:
    """True negative statements used when fewer than two signals explain the score."""
    reasons = []
    if not any(i.kind is not IndicatorKind.CVE for i in iocs.indicators):
        reasons.append("No indicators of compromise found.")
    if not techniques:
        reasons.append("No ATT&CK techniques inferred.")
    if not exploited:
        reasons.append("No exploitation in the wild reported.")
    return [*reasons, "No further threat signals found."]


def _cue_verdict(
    article: Article, iocs: IocFindings, techniques: Sequence[TechniqueHit], model: SeverityModel
) -> str | None:
    """The dominant non-threat kind's reason when non-threat cues dominate the text, else None."""
    gate = model.gate

    def hits(pattern: re.Pattern[str]) -> float:
        return len(pattern.findall(article.text)) + gate.title_weight * len(pattern.findall(article.title))

    kinds = [(hits(kind.pattern), -index, kind) for index, kind in enumerate(gate.kinds)]
    non_threat = sum(score for score, _, _ in kinds)
    threat = hits(gate.threat) + len(cves_in(article, iocs))
    if non_threat < gate.min_cues or non_threat < gate.dominance * threat:
        return None
    return max(kinds, key=lambda k: (k[0], k[1]))[2].reason


def _not_a_report(reason: str, techniques: Sequence[TechniqueHit], relevance: Relevance | None) -> Severity:
    reasons = [reason]
    if relevance is not None:
        verb = "describes" if relevance.activity == 1 else "describe"
        reasons.append(f"{relevance.activity} of {relevance.sentences} sentences {verb} adversary activity.")
    if techniques:
        found = f"{plural(len(techniques), 'ATT&CK technique match')} ({listing([t.id for t in techniques])})"
        reasons.append(f"{found} set aside: the text describes no attack.")
    else:
        reasons.append("No indicators of compromise or ATT&CK techniques found.")
    return Severity(SeverityLevel.INFO, 0, tuple(reasons[:MAX_REASONS]))


def threat_report_gate(
    article: Article,
    iocs: IocFindings,
    techniques: Sequence[TechniqueHit],
    model: SeverityModel,
    relevance: Relevance | None = None,
) -> Severity | None:
    """INFO with the reason when the article is not a threat report, else None (see severity.yaml `gate`).

    `relevance` is the relevance model's verdict on the article; without it only the cue rule decides.
    """
    gate = model.gate
    if sum(i.kind is not IndicatorKind.CVE for i in iocs.indicators) > gate.max_iocs:
        return None
    if relevance is not None and relevance.share >= gate.relevance_high:
        return None
    cue_reason = _cue_verdict(article, iocs, techniques, model)
    if relevance is not None and relevance.share < gate.relevance_low:
        return _not_a_report(cue_reason or NOT_A_REPORT, techniques, relevance)
    if cue_reason is None or len(techniques) > gate.max_techniques:
        return None
    return _not_a_report(cue_reason, techniques, relevance)


def _recency_signal(published: datetime | None, now: datetime | None, model: SeverityModel) -> Signal | None:
    if published is None or now is None:
        return None
    aware = [d if d.tzinfo else d.replace(tzinfo=UTC) for d in (published, now)]
    days = max(0, (aware[1] - aware[0]).days)
    ago = "today" if days == 0 else f"{plural(days, 'day')} ago"
    if days <= model.recent_days:
        return Signal(model.weights["recent"], f"Published {ago}.")
    if days > model.stale_days:
        return Signal(-model.weights["stale"], f"Published {ago}: old activity ranks lower.")
    return None


def _capped(total: int, signals: Sequence[Signal], model: SeverityModel) -> tuple[int, str | None]:
    """Keep the score below CRITICAL unless an urgent signal (exploitation, zero-day, KEV) is present."""
    if model.level_for(total) is not SeverityLevel.CRITICAL or any(
        s.key in model.critical_requires for s in signals
    ):
        return total, None
    floor = dict(model.levels)[SeverityLevel.CRITICAL]
    wanted = [_URGENT_NAMES[k] for k in _URGENT_NAMES if k in model.critical_requires]
    wanted = [", ".join(wanted[:-1]), wanted[-1]] if len(wanted) > 1 else wanted
    return min(total, math.ceil(floor) - 1), f"Kept below CRITICAL: no {' or '.join(wanted)} reported."


def score(
    article: Article,
    iocs: IocFindings,
    techniques: Sequence[TechniqueHit],
    model: SeverityModel,
    *,
    kev: KevCatalog | Collection[str] = (),
    relevance: Relevance | None = None,
    source_category: str = "news",
    source_weight: float = 1.0,
    now: datetime | None = None,
) -> Severity:
    """Rate an article 0–100 and INFO…CRITICAL with 2–5 plain reasons; pure, never raises on content.

    `kev` is CISA's KEV catalog (or CVE IDs); `now` enables recency; `source_weight` scales the score.
    """
    gated = threat_report_gate(article, iocs, techniques, model, relevance)
    if gated is not None:
        return gated
    signals = all_signals(article, iocs, techniques, model, kev)
    if category_points := model.categories.get(source_category, 0.0):
        signals.append(Signal(category_points, f"Published by a '{source_category}' source."))
    if (recency := _recency_signal(article.published, now, model)) is not None:
        signals.append(recency)
    ranked = sorted((s for s in signals if s.points > 0), key=lambda s: -s.points)
    penalties = [s for s in signals if s.points < 0]
    raw = sum(s.points for s in ranked) + sum(s.points for s in penalties)
    total, cap = _capped(max(0, min(100, round(raw * source_weight))), ranked, model)
    extras = [s.reason for s in penalties] + ([cap] if cap else [])
    if source_weight != 1.0:
        extras.append(f"Score scaled by the feed's weight ({source_weight:g}).")
    return Severity(model.level_for(total), total, _reasons(ranked, extras, iocs, techniques))


def _reasons(
    ranked: Sequence[Signal], extras: list[str], iocs: IocFindings, techniques: Sequence[TechniqueHit]
) -> tuple[str, ...]:
    """The strongest signals' sentences, then the notes (penalties, cap, weight), padded to at least two."""
    reasons = [s.reason for s in ranked][: max(1, MAX_REASONS - len(extras))] + extras
    exploited = any(s.key == "exploited_in_the_wild" for s in ranked)
    reasons += _fallbacks(iocs, techniques, exploited)[: max(0, 2 - len(reasons))]
    return tuple(reasons[:MAX_REASONS])
