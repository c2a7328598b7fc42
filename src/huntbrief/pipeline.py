"""`build_brief`: the one place that knows the order of the analysis stages. Pure; no I/O."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from huntbrief.catalog.attack import AttackCatalog
from huntbrief.catalog.kev import KevCatalog
from huntbrief.catalog.killchain import KillChainMapping
from huntbrief.catalog.noise import NoiseLists
from huntbrief.catalog.relevance import RelevanceModel
from huntbrief.catalog.severity import SeverityModel
from huntbrief.catalog.sweeps import SweepTemplates
from huntbrief.catalog.technique_aliases import TechniqueAliases
from huntbrief.catalog.technique_model import TechniqueModel
from huntbrief.catalog.usecases import UseCaseLibrary
from huntbrief.model import Article, Brief, Hunt
from huntbrief.stages.attack import infer_techniques, kill_chain_phases
from huntbrief.stages.hunts import SigmaLimits, plan_hunts
from huntbrief.stages.iocs import find_indicators
from huntbrief.stages.relevance import article_relevance
from huntbrief.stages.severity import score, threat_report_gate
from huntbrief.stages.summary import summarize

DEFAULT_BACKENDS = ("splunk", "kql")


@dataclass(frozen=True, slots=True)
class AnalysisContext:
    """The read-only catalogues every stage needs, loaded and validated once at start-up."""

    attack: AttackCatalog
    aliases: TechniqueAliases
    killchain: KillChainMapping
    noise: NoiseLists
    usecases: UseCaseLibrary
    sweeps: SweepTemplates
    severity: SeverityModel
    kev: KevCatalog | frozenset[str] = frozenset()
    relevance: RelevanceModel | None = None
    backends: tuple[str, ...] = DEFAULT_BACKENDS
    technique_model: TechniqueModel | None = None  # the learned sentence layer; None: rule layers only
    sigma: UseCaseLibrary | None = None  # hunts compiled from a user-given SigmaHQ rule folder
    sigma_limits: SigmaLimits = SigmaLimits()


def build_brief(
    article: Article,
    ctx: AnalysisContext,
    *,
    source_category: str = "news",
    source_weight: float = 1.0,
    item_key: str | None = None,
    analysed_at: datetime | None = None,
    previous: Brief | None = None,
) -> Brief:
    """Run every stage on one article, in order, and assemble the Brief (no I/O, no clock)."""
    iocs = find_indicators(article, ctx.noise)
    techniques = infer_techniques(article, ctx.attack, ctx.aliases, ctx.technique_model)
    relevance = article_relevance(article, ctx.relevance) if ctx.relevance is not None else None
    gated = threat_report_gate(article, iocs, techniques, ctx.severity, relevance)
    phases: tuple[str, ...] = ()
    hunts: tuple[Hunt, ...] = ()
    if gated is not None:  # not a threat report: no techniques, phases or hunts to act on
        techniques, severity = (), gated
    else:
        phases = kill_chain_phases(techniques, article, ctx.killchain)
        hunts = plan_hunts(
            techniques,
            iocs,
            ctx.usecases,
            ctx.sweeps,
            ctx.backends,
            sigma=ctx.sigma,
            sigma_limits=ctx.sigma_limits,
        )
        severity = score(
            article,
            iocs,
            techniques,
            ctx.severity,
            kev=ctx.kev,
            relevance=relevance,
            source_category=source_category,
            source_weight=source_weight,
            now=analysed_at,
        )
    brief = Brief(
        title=article.title,
        url=article.url,
        source=article.source,
        published=article.published,
        summary=summarize(article),
        severity=severity,
        iocs=iocs,
        techniques=techniques,
        kill_chain=phases,
        hunts=hunts,
        content_hash=article.content_hash,
        origin=article.origin,
        item_key=item_key,
        analysed_at=analysed_at,
    )
    if previous is None:
        return brief
    return replace(brief, changes=describe_changes(previous, brief))


def describe_changes(old: Brief, new: Brief) -> str:
    """One plain line saying what a re-analysis changed (text, IOCs, techniques, severity)."""
    parts = ["Article text changed since the last analysis"]
    old_iocs = {(i.kind, i.value) for i in old.iocs.indicators}
    new_iocs = {(i.kind, i.value) for i in new.iocs.indicators}
    parts.append(_delta("indicator", len(new_iocs - old_iocs), len(old_iocs - new_iocs)))
    old_t = {t.id for t in old.techniques}
    new_t = {t.id for t in new.techniques}
    parts.append(_delta("technique", len(new_t - old_t), len(old_t - new_t)))
    if old.severity.level != new.severity.level:
        parts.append(f"severity {old.severity.level.value} → {new.severity.level.value}")
    if old.origin != new.origin:
        parts.append(
            f"text now from {new.origin.value.replace('_', ' ')} (was {old.origin.value.replace('_', ' ')})"
        )
    return "; ".join(p for p in parts if p) + "."


def _delta(noun: str, added: int, removed: int) -> str:
    bits = []
    if added:
        bits.append(f"{added} new {noun}{'s' if added != 1 else ''}")
    if removed:
        bits.append(f"{removed} {noun}{'s' if removed != 1 else ''} no longer found")
    return ", ".join(bits)
