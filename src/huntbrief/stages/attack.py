"""Infer ATT&CK techniques from an article's text with a rule layer, and order kill-chain phases.

Three layers, strongest first: technique IDs written in the text, curated behaviour phrases
(`technique_aliases.yaml`), and exact multi-word technique names. Sentences that are product or
marketing talk, and clauses that deny or only hypothesise a behaviour, are not evidence. Pure and
linear in the length of the text: every regex was compiled once when the aliases were loaded.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import accumulate

from huntbrief.catalog.attack import AttackCatalog
from huntbrief.catalog.killchain import KillChainMapping
from huntbrief.catalog.technique_aliases import ContextCues, PhraseRule, TechniqueAliases
from huntbrief.model import Article, TechniqueHit
from huntbrief.stages.text import split_sentences

EXPLICIT, PHRASE, NAME = 3, 2, 1  # evidence layers; a higher number is stronger evidence
MAX_EVIDENCE = 3
MAX_EVIDENCE_CHARS = 400
_Match = tuple[str, int, int, int]  # technique ID, layer, start and end offsets in the sentence


@dataclass(frozen=True, slots=True)
class _Support:
    """One sentence supporting one technique through one layer."""

    layer: int
    index: int


def infer_techniques(
    article: Article, catalog: AttackCatalog, aliases: TechniqueAliases
) -> tuple[TechniqueHit, ...]:
    """Techniques the article's title and text give evidence for, by confidence desc then ID.

    Confidence (0-1) grows with the evidence layer and the number of supporting sentences;
    evidence holds up to three sentences, strongest first. Never reads anything but its arguments.
    """
    sentences = _sentences(article)
    rules_by_sentence = _candidate_rules(sentences, aliases.phrases)
    support: dict[str, dict[int, int]] = {}
    for index, sentence in enumerate(sentences):
        for tid, layer in _sentence_evidence(sentence, rules_by_sentence.get(index, ()), catalog, aliases):
            by_sentence = support.setdefault(tid, {})
            by_sentence[index] = max(layer, by_sentence.get(index, 0))
    hits = []
    for tid, by_sentence in _drop_implied_parents(support, catalog).items():
        technique = catalog.techniques[tid]
        supports = sorted(
            (_Support(layer, i) for i, layer in by_sentence.items()), key=lambda s: (-s.layer, s.index)
        )
        hits.append(
            TechniqueHit(
                id=tid,
                name=technique.name,
                tactics=technique.tactics,
                confidence=_confidence(supports, aliases),
                evidence=tuple(_clip(sentences[s.index]) for s in supports[:MAX_EVIDENCE]),
            )
        )
    return tuple(sorted(hits, key=lambda h: (-h.confidence, h.id)))


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


def _candidate_rules(sentences: Sequence[str], rules: Sequence[PhraseRule]) -> dict[int, list[PhraseRule]]:
    """Sentence index -> the phrase rules worth trying there: those whose anchor literals occur in it.

    Anchors are found with str.find over the whole lower-cased text, so a rule costs nothing on
    text that cannot match it; rules without anchors are tried on every sentence.
    """
    joined = "\n".join(sentences).lower()
    starts = list(accumulate((len(s) + 1 for s in sentences[:-1]), initial=0))
    out: dict[int, list[PhraseRule]] = {}
    for rule in rules:
        indexes: set[int] = set() if rule.anchors else set(range(len(sentences)))
        for anchor in rule.anchors:
            at = joined.find(anchor)
            while at != -1:
                indexes.add(bisect_right(starts, at) - 1)
                at = joined.find(anchor, at + 1)
        for index in sorted(indexes):
            out.setdefault(index, []).append(rule)
    return out


def _sentence_evidence(
    sentence: str, rules: Sequence[PhraseRule], catalog: AttackCatalog, aliases: TechniqueAliases
) -> Iterator[tuple[str, int]]:
    """(technique ID, layer) for each match inside a clause that counts; marketing talk gives none."""
    found = [
        *_explicit_ids(sentence, catalog, aliases),
        *_phrases(sentence, rules),
        *_names(sentence, aliases),
    ]
    if not found:
        return
    clauses = _counting_clauses(sentence, aliases.context)
    for tid, layer, start, end in found:
        if tid in catalog.techniques and any(low <= start and end <= high for low, high in clauses):
            yield tid, layer


def _counting_clauses(sentence: str, context: ContextCues) -> list[tuple[int, int]]:
    """Spans of the clauses that count as evidence: not negated, not hypothetical, not marketing."""
    if context.marketing.search(sentence) and not context.adversary.search(sentence):
        return []
    bounds = [
        0,
        *(x for m in context.clause_break.finditer(sentence) for x in (m.start(), m.end())),
        len(sentence),
    ]
    spans = []
    for low, high in zip(bounds[::2], bounds[1::2], strict=True):
        clause = sentence[low:high]
        if clause.strip() and not context.negation.search(clause) and not context.hypothetical.search(clause):
            spans.append((low, high))
    return spans


def _explicit_ids(sentence: str, catalog: AttackCatalog, aliases: TechniqueAliases) -> Iterator[_Match]:
    for found in aliases.explicit_id.finditer(sentence):
        tid = catalog.resolve(found.group(0))
        if tid is not None:
            yield tid, EXPLICIT, found.start(), found.end()


def _phrases(sentence: str, rules: Sequence[PhraseRule]) -> Iterator[_Match]:
    lowered = sentence.lower()
    for rule in rules:
        for found in rule.pattern.finditer(sentence):
            if not _shadowed(lowered, found.start(), found.end(), rule.shadows):
                yield rule.technique, PHRASE, found.start(), found.end()


def _names(sentence: str, aliases: TechniqueAliases) -> Iterator[_Match]:
    """Exact technique names of two or more words, longest first at each word position."""
    lowered = sentence.lower()
    words = list(aliases.word.finditer(lowered))
    tokens = [w.group(0) for w in words]
    position = 0
    while position < len(tokens):
        step = 1
        if tokens[position] in aliases.name_first_words:
            for size in range(min(aliases.max_name_words, len(tokens) - position), 1, -1):
                tid = aliases.names.get(tuple(tokens[position : position + size]))
                if tid is None:
                    continue
                start, end = words[position].start(), words[position + size - 1].end()
                if not _shadowed(lowered, start, end, aliases.name_shadows.get(tid, ())):
                    yield tid, NAME, start, end
                step = size
                break
        position += step


def _shadowed(lowered: str, start: int, end: int, shadows: tuple[str, ...]) -> bool:
    """True when [start, end) lies inside a longer group/software name written in the text."""
    for name in shadows:
        at = lowered.find(name, max(0, end - len(name)))
        while at != -1 and at <= start:
            if at + len(name) >= end:
                return True
            at = lowered.find(name, at + 1)
    return False


def _drop_implied_parents(
    support: dict[str, dict[int, int]], catalog: AttackCatalog
) -> dict[str, dict[int, int]]:
    """A parent found only by phrase or name is dropped when one of its sub-techniques was found."""
    parents_with_children = {p for tid in support if (p := catalog.techniques[tid].parent) is not None}
    return {
        tid: by_sentence
        for tid, by_sentence in support.items()
        if tid not in parents_with_children or EXPLICIT in by_sentence.values()
    }


def _confidence(supports: Sequence[_Support], aliases: TechniqueAliases) -> float:
    policy = aliases.confidence
    extra = policy.per_extra_sentence * (len(supports) - 1)
    best = supports[0].layer
    if best == EXPLICIT:
        value = max(policy.explicit, min(policy.max_inferred, policy.phrase + extra))
    else:
        value = min(policy.max_inferred, (policy.phrase if best == PHRASE else policy.name) + extra)
    return round(value, 2)


def _clip(sentence: str) -> str:
    text = " ".join(sentence.split())
    return text if len(text) <= MAX_EVIDENCE_CHARS else text[: MAX_EVIDENCE_CHARS - 1].rstrip() + "…"
