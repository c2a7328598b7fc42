"""Score how urgent an article is: a threat-report gate first, then weighted signals with plain reasons.

Every reason names a fact a reader can check in the article (CVE IDs, actor names, indicator counts);
none of them counts rules.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass

from huntbrief.catalog.severity import Concepts, SeverityModel
from huntbrief.model import (
    Article,
    Confidence,
    IndicatorKind,
    IocFindings,
    Severity,
    SeverityLevel,
    TechniqueHit,
)

CVE_ID = re.compile(r"\bCVE-\d{4}-\d{4,7}\b", re.IGNORECASE)
_SENTENCE_BREAK = re.compile(r"[.!?](?:\s|$)|\n")
MAX_REASONS = 5
EXPLOITED = "Exploitation in the wild reported."


@dataclass(frozen=True, slots=True)
class _Signal:
    points: float
    reason: str


def _listing(items: Sequence[str], limit: int = 4) -> str:
    shown = ", ".join(items[:limit])
    return f"{shown} and {len(items) - limit} more" if len(items) > limit else shown


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _affirmed(concepts: Concepts, text: str, model: SeverityModel) -> list[str]:
    """Labels of the concepts matched at least once without a negation before it in the same clause."""
    found: set[int] = set()
    for match in concepts.pattern.finditer(text):
        index = concepts.concept(match)
        if index not in found and _stated(match, text, model):
            found.add(index)
    return [concepts.labels[i] for i in sorted(found)]


def _stated(match: re.Match[str], text: str, model: SeverityModel) -> bool:
    window = text[max(0, match.start() - model.negation_window) : match.start()]
    return not model.negation.search(_SENTENCE_BREAK.split(window)[-1])


def _distinct(items: Iterable[str]) -> list[str]:
    seen: dict[str, str] = {}
    for item in items:
        seen.setdefault(item.lower(), item)
    return list(seen.values())


def cves_in(article: Article, iocs: IocFindings) -> list[str]:
    """CVE IDs from the CVE indicators and the article text, upper-cased, in first-seen order."""
    from_iocs = (i.value for i in iocs.indicators if i.kind is IndicatorKind.CVE)
    from_text = (m.group(0) for m in CVE_ID.finditer(f"{article.title}\n{article.text}"))
    return list(dict.fromkeys(c.upper() for c in (*from_iocs, *from_text)))


def names_in(
    patterns: Iterable[re.Pattern[str]], text: str, not_names: Collection[str], min_mentions: int = 1
) -> list[str]:
    """Names the patterns find, minus leading non-names, names seen too rarely and parts of longer names.

    A pattern's last capture group is the name (it must occur `min_mentions` times); else the whole match.
    """
    found = []
    for pattern in patterns:
        for match in pattern.finditer(text):
            words = (match.group(match.lastindex) if match.lastindex else match.group(0)).split()
            while words and words[0] in not_names:
                words.pop(0)
            name = " ".join(words)
            if len(name) < 3 or name in not_names:
                continue
            if match.lastindex and len(re.findall(rf"(?<!\w){re.escape(name)}(?!\w)", text)) < min_mentions:
                continue
            found.append(name)
    names = _distinct(found)
    return [n for n in names if not any(o != n and o.lower().endswith(" " + n.lower()) for o in names)]


def _cue_signals(text: str, model: SeverityModel) -> list[_Signal]:
    weights, cues = model.weights, model.cues
    signals = []
    if _affirmed(cues["exploited_in_the_wild"], text, model):
        signals.append(_Signal(weights["exploited_in_the_wild"], EXPLOITED))
    if _affirmed(cues["zero_day"], text, model):
        signals.append(_Signal(weights["zero_day"], "A zero-day vulnerability is described."))
    if impacts := _affirmed(cues["severe_impact"], text, model):
        signals.append(_Signal(weights["severe_impact"], f"Impact described: {_listing(impacts, 3)}."))
    if _affirmed(cues["ransomware"], text, model):
        signals.append(_Signal(weights["ransomware"], "Ransomware activity described."))
    if _affirmed(cues["data_theft"], text, model):
        signals.append(_Signal(weights["data_theft"], "Data theft or extortion described."))
    if _affirmed(cues["destructive"], text, model):
        signals.append(_Signal(weights["destructive"], "Destructive (wiper) activity described."))
    return signals


def _cve_signals(cves: Sequence[str], kev: Collection[str], model: SeverityModel) -> list[_Signal]:
    if not cves:
        return []
    weights = model.weights
    points = min(weights["cve_max"], weights["cve_first"] + weights["cve_each_more"] * (len(cves) - 1))
    signals = [_Signal(points, f"{_plural(len(cves), 'CVE')} mentioned: {_listing(cves)}.")]
    known = {c.upper() for c in kev}
    if listed := [c for c in cves if c in known]:
        verb = "is" if len(listed) == 1 else "are"
        reason = f"{_listing(listed)} {verb} in CISA's Known Exploited Vulnerabilities catalog."
        signals.append(_Signal(weights["kev"], reason))
    return signals


def _name_signals(text: str, model: SeverityModel) -> list[_Signal]:
    signals = []
    if actors := names_in(model.actor_patterns, text, model.not_names, model.name_min_mentions):
        signals.append(_Signal(model.weights["named_actor"], f"Named threat actor(s): {_listing(actors)}."))
    if malware := names_in(model.malware_patterns, text, model.not_names, model.name_min_mentions):
        signals.append(_Signal(model.weights["named_malware"], f"Named malware: {_listing(malware)}."))
    return signals


def _tradecraft_signals(text: str, model: SeverityModel) -> list[_Signal]:
    if not (terms := _affirmed(model.cues["tradecraft"], text, model)):
        return []
    points = min(model.weights["tradecraft_max"], model.weights["tradecraft_each"] * len(terms))
    return [_Signal(points, f"Technical details of the attack: {_listing(terms)}.")]


def _ioc_signals(iocs: IocFindings, model: SeverityModel) -> list[_Signal]:
    evidence = [i for i in iocs.indicators if i.kind is not IndicatorKind.CVE]
    if not evidence:
        return []
    weights = model.weights
    high = sum(i.confidence is Confidence.HIGH for i in evidence)
    medium = sum(i.confidence is Confidence.MEDIUM for i in evidence)
    points = high * weights["ioc_high_each"] + medium * weights["ioc_medium_each"]
    kinds = ", ".join(_distinct(i.kind.value for i in evidence))
    reason = f"{_plural(len(evidence), 'indicator')} of compromise ({kinds}), {high} high-confidence."
    return [_Signal(min(weights["ioc_max"], points), reason)]


def _technique_signals(techniques: Sequence[TechniqueHit], model: SeverityModel) -> list[_Signal]:
    if not techniques:
        return []
    weights = model.weights
    ids = [t.id for t in techniques]
    points = min(weights["technique_max"], weights["technique_each"] * len(ids))
    signals = [_Signal(points, f"{_plural(len(ids), 'ATT&CK technique')} inferred: {_listing(ids)}.")]
    if tactics := _distinct(tactic for t in techniques for tactic in t.tactics):
        points = min(weights["tactic_max"], weights["tactic_each"] * len(tactics))
        spans = f"{_plural(len(tactics), 'ATT&CK tactic')}: {_listing(tactics)}"
        signals.append(_Signal(points, f"Activity spans {spans}."))
    return signals


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


def threat_report_gate(
    article: Article, iocs: IocFindings, techniques: Sequence[TechniqueHit], model: SeverityModel
) -> Severity | None:
    """INFO with a reason when the article is not a threat report, else None.

    Not a threat report: non-threat cues (product, partnership…) dominate and the evidence is weak.
    """
    gate = model.gate
    evidence = [i for i in iocs.indicators if i.kind is not IndicatorKind.CVE]
    if len(evidence) > gate.max_iocs or len(techniques) > gate.max_techniques:
        return None

    def hits(pattern: re.Pattern[str]) -> float:
        in_title = len(pattern.findall(article.title))
        return len(pattern.findall(article.text)) + gate.title_weight * in_title

    kinds = [(hits(kind.pattern), -index, kind) for index, kind in enumerate(gate.kinds)]
    non_threat = sum(score for score, _, _ in kinds)
    threat = hits(gate.threat) + len(cves_in(article, iocs))
    if non_threat < gate.min_cues or non_threat < gate.dominance * threat:
        return None
    dominant = max(kinds, key=lambda k: (k[0], k[1]))[2]
    if techniques:
        found = (
            f"{_plural(len(techniques), 'ATT&CK technique')} inferred ({', '.join(t.id for t in techniques)})"
        )
        detail = f"Only {found}, set aside: the text describes no adversary activity."
    else:
        detail = "No indicators of compromise or ATT&CK techniques found."
    return Severity(SeverityLevel.INFO, 0, (dominant.reason, detail))


def score(
    article: Article,
    iocs: IocFindings,
    techniques: Sequence[TechniqueHit],
    model: SeverityModel,
    *,
    kev: Collection[str] = (),
    source_category: str = "news",
    source_weight: float = 1.0,
) -> Severity:
    """Rate an article 0–100 and INFO…CRITICAL with 2–5 plain reasons; pure, never raises on content.

    `kev` is the set of CVE IDs known to be exploited; `source_weight` scales the final score.
    """
    gated = threat_report_gate(article, iocs, techniques, model)
    if gated is not None:
        return gated
    text = f"{article.title}\n{article.text}"
    signals = [
        *_cue_signals(text, model),
        *_cve_signals(cves_in(article, iocs), kev, model),
        *_name_signals(text, model),
        *_tradecraft_signals(text, model),
        *_ioc_signals(iocs, model),
        *_technique_signals(techniques, model),
    ]
    if category_points := model.categories.get(source_category, 0.0):
        signals.append(_Signal(category_points, f"Published by a '{source_category}' source."))
    signals = sorted((s for s in signals if s.points > 0), key=lambda s: -s.points)
    total = max(0, min(100, round(sum(s.points for s in signals) * source_weight)))
    reasons = [s.reason for s in signals[:MAX_REASONS]]
    if source_weight != 1.0 and len(reasons) < MAX_REASONS:
        reasons.append(f"Score scaled by the feed's weight ({source_weight:g}).")
    exploited = any(s.reason == EXPLOITED for s in signals)
    reasons += _fallbacks(iocs, techniques, exploited)[: max(0, 2 - len(reasons))]
    return Severity(model.level_for(total), total, tuple(reasons[:MAX_REASONS]))
