"""Corpus check: IOC extraction against the hand-labelled gold in ../shared/data/articles.

Scores per type over all articles (micro-averaged): a hit is an emitted indicator whose match key
is in `expected`; an emitted key in neither `expected` nor `optional` is a false positive (only for
the article's `exhaustive_types`); `must_not` keys emitted are counted separately. The contract:
overall F1 >= 0.95, a per-type floor, and not one must-not value emitted.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from huntbrief.catalog.noise import load_noise
from huntbrief.model import Article
from huntbrief.stages.iocs import find_indicators

ARTICLES = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "articles"
TYPES = ("cve", "domain", "email", "ipv4", "ipv6", "md5", "sha1", "sha256", "sha512", "url")
# Measured on 50 articles: F1 0.999 overall (P 0.999, R 1.000), 0 must-not emitted.
F1_FLOOR = 0.95
PER_TYPE_F1_FLOOR = {
    "cve": 0.95,
    "domain": 0.95,
    "ipv4": 0.95,
    "md5": 0.95,
    "sha1": 0.95,
    "sha256": 0.95,
    "url": 0.95,
}
MUST_NOT_CEILING = 0


def match_key(kind: str, value: str) -> str:
    """The comparison key: URLs without scheme, host lower-cased, one trailing slash dropped."""
    if kind != "url":
        return value.lower()
    rest = value.split("://", 1)[1] if "://" in value else value
    cut = min((i for i in (rest.find(c) for c in "/?#") if i != -1), default=len(rest))
    key = rest[:cut].lower() + rest[cut:]
    return key[:-1] if key.endswith("/") else key


@dataclass
class Score:
    tp: Counter[str] = field(default_factory=Counter)
    fp: Counter[str] = field(default_factory=Counter)
    fn: Counter[str] = field(default_factory=Counter)
    must_not: list[str] = field(default_factory=list)
    misses: list[str] = field(default_factory=list)
    extras: list[str] = field(default_factory=list)

    def f1(self, kind: str | None = None) -> tuple[float, float, float]:
        kinds = [kind] if kind else list(TYPES)
        tp = sum(self.tp[k] for k in kinds)
        fp = sum(self.fp[k] for k in kinds)
        fn = sum(self.fn[k] for k in kinds)
        precision = tp / (tp + fp) if tp + fp else 1.0
        recall = tp / (tp + fn) if tp + fn else 1.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        return precision, recall, f1


def _keys(gold: dict[str, list[str]], kind: str) -> set[str]:
    return {match_key(kind, value) for value in gold.get(kind, [])}


def score_corpus(folder: Path) -> Score:
    """Run find_indicators over every gold article and tally hits, misses and false positives."""
    noise = load_noise()
    manifest = {}
    for line in (folder / "manifest.jsonl").read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        manifest[row["id"]] = row
    score = Score()
    for line in (folder / "iocs_gold.jsonl").read_text(encoding="utf-8").splitlines():
        gold = json.loads(line)
        meta = manifest.get(gold["id"], {})
        text = (folder / meta.get("file", gold["id"] + ".txt")).read_text(encoding="utf-8")
        article = Article(
            url=meta.get("url"), title=meta.get("title", ""), source=meta.get("publisher") or "", text=text
        )
        found = find_indicators(article, noise)
        emitted: dict[str, set[str]] = {}
        for indicator in found.indicators:
            kind = indicator.kind.value
            emitted.setdefault(kind, set()).add(match_key(kind, indicator.value))
        _tally(score, gold, emitted)
    return score


def _tally(score: Score, gold: dict, emitted: dict[str, set[str]]) -> None:
    expected, optional, must_not = (
        gold.get("expected", {}),
        gold.get("optional", {}),
        gold.get("must_not", {}),
    )
    for kind in gold.get("exhaustive_types", TYPES):
        got, want = emitted.get(kind, set()), _keys(expected, kind)
        score.tp[kind] += len(got & want)
        score.fn[kind] += len(want - got)
        extra = got - want - _keys(optional, kind)
        score.fp[kind] += len(extra)
        score.misses += [f"{gold['id'][:40]} {kind} {key}" for key in sorted(want - got)]
        score.extras += [f"{gold['id'][:40]} {kind} {key}" for key in sorted(extra)]
    for kind in must_not:
        score.must_not += [
            f"{gold['id'][:40]} {kind} {key}"
            for key in sorted(emitted.get(kind, set()) & _keys(must_not, kind))
        ]


@pytest.fixture(scope="module")
def corpus_score() -> Score:
    if not (ARTICLES / "iocs_gold.jsonl").is_file():
        pytest.skip(f"shared article corpus not found at {ARTICLES}")
    return score_corpus(ARTICLES)


def test_corpus_f1_and_must_not(corpus_score: Score) -> None:
    for kind in TYPES:
        precision, recall, f1 = corpus_score.f1(kind)
        tp, fp, fn = corpus_score.tp[kind], corpus_score.fp[kind], corpus_score.fn[kind]
        print(f"{kind:7} P={precision:.3f} R={recall:.3f} F1={f1:.3f}  tp={tp} fp={fp} fn={fn}")
    precision, recall, f1 = corpus_score.f1()
    emitted = len(corpus_score.must_not)
    print(f"overall P={precision:.3f} R={recall:.3f} F1={f1:.3f}; must-not emitted: {emitted}")
    print("\n".join(["must-not:", *corpus_score.must_not]))
    assert f1 >= F1_FLOOR
    assert len(corpus_score.must_not) <= MUST_NOT_CEILING, corpus_score.must_not


@pytest.mark.parametrize("kind", sorted(PER_TYPE_F1_FLOOR))
def test_corpus_per_type_floor(corpus_score: Score, kind: str) -> None:
    assert corpus_score.f1(kind)[2] >= PER_TYPE_F1_FLOOR[kind], corpus_score.f1(kind)
