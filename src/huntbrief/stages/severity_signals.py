"""The facts severity scores: cue phrases, CVEs and CISA KEV, names, tradecraft, indicators, techniques.

Each signal carries its points and one plain sentence naming what a reader can check in the article.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass

from huntbrief.catalog.kev import KevCatalog, KevEntry
from huntbrief.catalog.severity import Concepts, SeverityModel
from huntbrief.model import Article, Confidence, IndicatorKind, IocFindings, TechniqueHit

CVE_ID = re.compile(r"\bCVE-\d{4}-\d{4,7}\b", re.IGNORECASE)
_SENTENCE_BREAK = re.compile(r"[.!?](?:\s|$)|\n")
EXPLOITED = "Exploitation in the wild reported."


@dataclass(frozen=True, slots=True)
class Signal:
    """Points for one fact in the article, the plain sentence that states it, and an urgency key."""

    points: float
    reason: str
    key: str = ""  # names an urgent signal (see SeverityModel.critical_requires)


def listing(items: Sequence[str], limit: int = 4) -> str:
    """Up to `limit` items joined by commas, then "and N more"."""
    shown = ", ".join(items[:limit])
    return f"{shown} and {len(items) - limit} more" if len(items) > limit else shown


def plural(count: int, word: str) -> str:
    """ "1 CVE", "2 CVEs"."""
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


def _cue_signals(text: str, model: SeverityModel) -> list[Signal]:
    weights, cues = model.weights, model.cues
    signals = []
    if _affirmed(cues["exploited_in_the_wild"], text, model):
        signals.append(Signal(weights["exploited_in_the_wild"], EXPLOITED, "exploited_in_the_wild"))
    if _affirmed(cues["zero_day"], text, model):
        signals.append(Signal(weights["zero_day"], "A zero-day vulnerability is described.", "zero_day"))
    if impacts := _affirmed(cues["severe_impact"], text, model):
        signals.append(Signal(weights["severe_impact"], f"Impact described: {listing(impacts, 3)}."))
    if _affirmed(cues["ransomware"], text, model):
        signals.append(Signal(weights["ransomware"], "Ransomware activity described."))
    if _affirmed(cues["data_theft"], text, model):
        signals.append(Signal(weights["data_theft"], "Data theft or extortion described."))
    if _affirmed(cues["destructive"], text, model):
        signals.append(Signal(weights["destructive"], "Destructive (wiper) activity described."))
    return signals


def _kev_entry(kev: KevCatalog | Collection[str], cve: str) -> KevEntry | None:
    return kev.get(cve) if isinstance(kev, KevCatalog) else None


def _cve_signals(
    cves: Sequence[str], kev: KevCatalog | Collection[str], model: SeverityModel
) -> list[Signal]:
    if not cves:
        return []
    weights = model.weights
    points = min(weights["cve_max"], weights["cve_first"] + weights["cve_each_more"] * (len(cves) - 1))
    counted = plural(len(cves), "CVE")
    if not len(kev):  # no catalog loaded: say nothing about KEV
        return [Signal(points, f"{counted} mentioned: {listing(cves)}.")]
    known = {c.upper() for c in kev}
    listed = [c for c in cves if c in known]
    if not listed:
        return [Signal(points, f"{counted} ({listing(cves)}), none in CISA KEV.")]
    signals = [
        Signal(points + weights["kev"], f"{counted}, {len(listed)} in CISA KEV ({listing(listed)}).", "kev")
    ]
    if ransom := [c for c in listed if (entry := _kev_entry(kev, c)) is not None and entry.ransomware]:
        reason = f"CISA KEV lists {listing(ransom)} as used in ransomware campaigns."
        signals.append(Signal(weights["kev_ransomware"], reason))
    return signals


def _name_signals(text: str, model: SeverityModel) -> list[Signal]:
    signals = []
    if actors := names_in(model.actor_patterns, text, model.not_names, model.name_min_mentions):
        signals.append(Signal(model.weights["named_actor"], f"Named threat actor(s): {listing(actors)}."))
    if malware := names_in(model.malware_patterns, text, model.not_names, model.name_min_mentions):
        signals.append(Signal(model.weights["named_malware"], f"Named malware: {listing(malware)}."))
    return signals


def _tradecraft_signals(text: str, model: SeverityModel) -> list[Signal]:
    if not (terms := _affirmed(model.cues["tradecraft"], text, model)):
        return []
    points = min(model.weights["tradecraft_max"], model.weights["tradecraft_each"] * len(terms))
    return [Signal(points, f"Technical details of the attack: {listing(terms)}.")]


def _ioc_signals(iocs: IocFindings, model: SeverityModel) -> list[Signal]:
    evidence = [i for i in iocs.indicators if i.kind is not IndicatorKind.CVE]
    if not evidence:
        return []
    weights = model.weights
    high = sum(i.confidence is Confidence.HIGH for i in evidence)
    medium = sum(i.confidence is Confidence.MEDIUM for i in evidence)
    points = high * weights["ioc_high_each"] + medium * weights["ioc_medium_each"]
    kinds = ", ".join(_distinct(i.kind.value for i in evidence))
    reason = f"{plural(len(evidence), 'indicator')} of compromise ({kinds}), {high} high-confidence."
    return [Signal(min(weights["ioc_max"], points), reason)]


def _technique_signals(techniques: Sequence[TechniqueHit], model: SeverityModel) -> list[Signal]:
    if not techniques:
        return []
    weights = model.weights
    ids = [t.id for t in techniques]
    points = min(weights["technique_max"], weights["technique_each"] * len(ids))
    signals = [Signal(points, f"{plural(len(ids), 'ATT&CK technique')} inferred: {listing(ids)}.")]
    if tactics := _distinct(tactic for t in techniques for tactic in t.tactics):
        points = min(weights["tactic_max"], weights["tactic_each"] * len(tactics))
        spans = f"{plural(len(tactics), 'ATT&CK tactic')}: {listing(tactics)}"
        signals.append(Signal(points, f"Activity spans {spans}."))
    return signals


def all_signals(
    article: Article,
    iocs: IocFindings,
    techniques: Sequence[TechniqueHit],
    model: SeverityModel,
    kev: KevCatalog | Collection[str],
) -> list[Signal]:
    text = f"{article.title}\n{article.text}"
    return [
        *_cue_signals(text, model),
        *_cve_signals(cves_in(article, iocs), kev, model),
        *_name_signals(text, model),
        *_tradecraft_signals(text, model),
        *_ioc_signals(iocs, model),
        *_technique_signals(techniques, model),
    ]
