"""Infer ATT&CK techniques from an article's text, and order kill-chain phases.

Four layers: technique IDs written in the text, curated behaviour phrases (`technique_aliases.yaml`),
exact technique names, and a learned sentence model (`technique-model.bin.gz`). Marketing sentences
and clauses that deny or only hypothesise a behaviour are evidence for no layer. A sub-technique is
reported only on evidence specific to it; otherwise its parent. Pure; never reads anything but its
arguments.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from huntbrief.catalog.attack import AttackCatalog
from huntbrief.catalog.killchain import KillChainMapping
from huntbrief.catalog.technique_aliases import TechniqueAliases
from huntbrief.catalog.technique_model import TechniqueModel
from huntbrief.model import Article, TechniqueHit
from huntbrief.stages.attack_model import sentence_probabilities
from huntbrief.stages.attack_rules import EXPLICIT, NAME, PHRASE, counting_text, rule_matches
from huntbrief.stages.text import split_sentences

MODEL = "model"
ALL_LAYERS = frozenset({EXPLICIT, PHRASE, NAME, MODEL})
MAX_EVIDENCE = 3
MAX_EVIDENCE_CHARS = 400
# How strongly one sentence shows a technique, per layer (the model's is its probability). A bare
# mapping-table row ("T1059.001 PowerShell") names a technique but shows no behaviour.
_STRENGTH = {EXPLICIT: 1.0, PHRASE: 0.8, NAME: 0.6}
_BARE_STRENGTH = 0.3


@dataclass(slots=True)
class _Support:
    """What the whole article says for one technique: per-sentence strength and the layers seen."""

    strength: dict[int, float] = field(default_factory=dict)
    layers: set[str] = field(default_factory=set)
    best_probability: float = 0.0
    probabilities: list[float] = field(default_factory=list)
    bare: set[int] = field(default_factory=set)  # sentences that only name the technique (table rows)

    def add(self, index: int, strength: float) -> None:
        if index in self.bare:
            strength = min(strength, _BARE_STRENGTH)
        self.strength[index] = max(strength, self.strength.get(index, 0.0))


def infer_techniques(
    article: Article,
    catalog: AttackCatalog,
    aliases: TechniqueAliases,
    model: TechniqueModel | None = None,
    *,
    layers: frozenset[str] = ALL_LAYERS,
) -> tuple[TechniqueHit, ...]:
    """Techniques the article's title and text give evidence for, by confidence desc then ID.

    Confidence (0-1) grows with the layer and the number of supporting sentences; evidence holds up
    to three sentences, strongest first. Without `model` only the rule layers run.
    """
    sentences = _sentences(article)
    support: dict[str, _Support] = {}
    for index, matches in rule_matches(sentences, catalog, aliases, layers).items():
        for match in matches:
            entry = support.setdefault(match.technique, _Support())
            entry.layers.add(match.layer)
            if match.bare:
                entry.bare.add(index)
            entry.add(index, _STRENGTH[match.layer])
    if model is not None and MODEL in layers:
        _model_support(sentences, aliases, model, catalog, support)
    reported = _reported(support, catalog)
    hits = [_hit(tid, support[tid], sentences, catalog, aliases) for tid in reported]
    return tuple(sorted(hits, key=lambda h: (-h.confidence, h.id)))


def _model_support(
    sentences: Sequence[str],
    aliases: TechniqueAliases,
    model: TechniqueModel,
    catalog: AttackCatalog,
    support: dict[str, _Support],
) -> None:
    """Add the learned layer's per-sentence probabilities (counting clauses only) to `support`."""
    floor = model.sentence_threshold
    for index, sentence in enumerate(sentences):
        text = counting_text(sentence, aliases.context)
        if not text:
            continue
        for label, probability in sentence_probabilities(text, model, floor).items():
            tid = model.labels[label]
            if tid not in catalog.techniques:
                continue
            entry = support.setdefault(tid, _Support())
            entry.add(index, probability)
            entry.probabilities.append(probability)
            entry.best_probability = max(entry.best_probability, probability)
            if probability >= model.doc_threshold:
                entry.layers.add(MODEL)


def _reported(support: dict[str, _Support], catalog: AttackCatalog) -> list[str]:
    """Techniques with enough evidence; a parent only when none of its sub-techniques is reported
    (unless the parent's own ID is written in the text)."""
    found = {tid for tid, entry in support.items() if entry.layers}
    parents_with_children = {p for tid in found if (p := catalog.techniques[tid].parent) is not None}
    return sorted(tid for tid in found if tid not in parents_with_children or EXPLICIT in support[tid].layers)


def _hit(
    tid: str,
    entry: _Support,
    sentences: Sequence[str],
    catalog: AttackCatalog,
    aliases: TechniqueAliases,
) -> TechniqueHit:
    technique = catalog.techniques[tid]
    order = sorted(entry.strength, key=lambda i: (-entry.strength[i], i))
    return TechniqueHit(
        id=tid,
        name=technique.name,
        tactics=technique.tactics,
        confidence=_confidence(entry, aliases),
        evidence=tuple(_clip(sentences[i]) for i in order[:MAX_EVIDENCE]),
    )


def _confidence(entry: _Support, aliases: TechniqueAliases) -> float:
    """Explicit IDs give the policy's explicit confidence; otherwise the stronger of the rule policy
    (layer base plus a bonus per extra sentence) and the model's noisy-or over its best sentences."""
    policy = aliases.confidence
    sentences = len(entry.strength)
    extra = policy.per_extra_sentence * (sentences - 1)
    rule = 0.0
    if PHRASE in entry.layers or EXPLICIT in entry.layers:
        rule = policy.phrase + extra
    elif NAME in entry.layers:
        rule = policy.name + extra
    doubt = 1.0
    for probability in sorted(entry.probabilities, reverse=True)[:3]:
        doubt *= 1.0 - probability
    value = min(policy.max_inferred, max(rule, 1.0 - doubt))
    if EXPLICIT in entry.layers:
        value = max(policy.explicit, value)
    return round(value, 2)


def kill_chain_phases(
    techniques: Sequence[TechniqueHit], article: Article, mapping: KillChainMapping
) -> tuple[str, ...]:
    """Kill-chain phases reached by the techniques' tactics, plus narrative cues, in chain order.

    Cues are read only when at least one technique was found, so an article without technique
    evidence gets no kill chain.
    """
    phases = {phase for hit in techniques for tactic in hit.tactics if (phase := mapping.phase_of(tactic))}
    if techniques:
        text = f"{article.title}\n{article.text}"
        phases.update(
            cue.phase for cue in mapping.cues if cue.phase not in phases and cue.pattern.search(text)
        )
    return mapping.ordered(frozenset(phases))


def _sentences(article: Article) -> tuple[str, ...]:
    title = article.title.strip()
    body = split_sentences(article.text)
    return (title, *body) if title and (not body or body[0] != title) else body


def _clip(sentence: str) -> str:
    text = " ".join(sentence.split())
    return text if len(text) <= MAX_EVIDENCE_CHARS else text[: MAX_EVIDENCE_CHARS - 1].rstrip() + "…"
