"""The rule layers of the ATT&CK stage: explicit IDs, curated behaviour phrases and exact technique names.

Also decides which parts of a sentence count as evidence at all (not marketing, not negated, not
hypothetical); the learned layer reads only those parts too. Every regex was compiled at load.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import accumulate

from huntbrief.catalog.attack import AttackCatalog
from huntbrief.catalog.technique_aliases import ContextCues, PhraseRule, TechniqueAliases

EXPLICIT, PHRASE, NAME = "explicit", "phrase", "name"
_Match = tuple[str, str, int, int]  # technique ID, layer, start and end offsets in the sentence
_BARE_LINE_WORDS = 3  # an ID line with at most this many other words is a mapping-table row


@dataclass(frozen=True, slots=True)
class RuleMatch:
    """One rule-layer finding: technique, layer, and whether the sentence is only an ID/name row."""

    technique: str
    layer: str
    bare: bool = False


def counting_text(sentence: str, context: ContextCues) -> str:
    """The parts of `sentence` that count as evidence, joined; "" for marketing or wholly denied text."""
    return " ".join(sentence[low:high].strip() for low, high in counting_clauses(sentence, context))


def counting_clauses(sentence: str, context: ContextCues) -> list[tuple[int, int]]:
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


def rule_matches(
    sentences: Sequence[str], catalog: AttackCatalog, aliases: TechniqueAliases, layers: frozenset[str]
) -> dict[int, list[RuleMatch]]:
    """Sentence index -> the rule findings inside its counting clauses, for the enabled `layers`."""
    rules = _candidate_rules(sentences, aliases.phrases) if PHRASE in layers else {}
    out: dict[int, list[RuleMatch]] = {}
    for index, sentence in enumerate(sentences):
        found = [
            *(_explicit_ids(sentence, catalog, aliases) if EXPLICIT in layers else ()),
            *_phrases(sentence, rules.get(index, ())),
            *(_names(sentence, aliases) if NAME in layers else ()),
        ]
        if not found:
            continue
        clauses = counting_clauses(sentence, aliases.context)
        counted = [
            (tid, layer, layer == EXPLICIT and _is_bare(sentence, start, end, aliases))
            for tid, layer, start, end in found
            if tid in catalog.techniques and any(low <= start and end <= high for low, high in clauses)
        ]
        # A mapping-table row ("T1059.001 – PowerShell") names its technique twice, by ID and by
        # name: the name is as bare as the ID.
        row = any(bare for _, _, bare in counted)
        kept = [RuleMatch(tid, layer, bare or (row and layer == NAME)) for tid, layer, bare in counted]
        if kept:
            out[index] = kept
    return out


def _is_bare(sentence: str, start: int, end: int, aliases: TechniqueAliases) -> bool:
    """True when the sentence is little more than the ID: a mapping-table row ("T1059.001 PowerShell")."""
    rest = aliases.word.findall(f"{sentence[:start]} {sentence[end:]}".lower())
    return len(rest) <= _BARE_LINE_WORDS + 2 and not any(
        len(word) > 3 and word.endswith("ed") for word in rest
    )


def _candidate_rules(sentences: Sequence[str], rules: Sequence[PhraseRule]) -> dict[int, list[PhraseRule]]:
    """Sentence index -> the phrase rules worth trying there: those whose anchor literals occur in it."""
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
