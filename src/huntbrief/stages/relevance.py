"""Is this article a threat report? A small linear sentence model, aggregated over the article.

Each sentence gets a probability that it describes adversary activity (what malware or an actor did);
the article's relevance is the share of its sentences above the model's sentence threshold. The
weights are data (`catalog/data/relevance.json`, trained by `scripts/train_relevance.py`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable

from huntbrief.catalog.relevance import Relevance, RelevanceModel
from huntbrief.model import Article
from huntbrief.stages.text import split_sentences

MIN_WORDS = 6
_SHAPES = (
    (re.compile(r"\bCVE-\d{4}-\d{4,7}\b", re.IGNORECASE), " xcvex "),
    (re.compile(r"\b[0-9a-fA-F]{32,128}\b"), " xhashx "),
    (re.compile(r"\b\d{1,3}(?:\[?\.\]?\d{1,3}){3}\b"), " xipx "),
    (re.compile(r"\bhxxps?://\S+|\bhttps?://\S+", re.IGNORECASE), " xurlx "),
    (
        re.compile(
            r"\b[\w-]+(?:\[?\.\]?[\w-]+)*\[?\.\]?(?:exe|dll|ps1|bat|vbs|js|lnk|hta|zip|iso|doc[xm]?|xls[xm]?)\b"
        ),
        " xfilex ",
    ),
    (re.compile(r"\d+"), " 0 "),
)
_WORD = re.compile(r"[a-z][a-z0-9]*(?:['’-][a-z0-9]+)*|0")


def tokens(sentence: str) -> list[str]:
    """Lower-cased words of a sentence, with CVE IDs, hashes, IPs, URLs, file names and numbers as shapes."""
    text = sentence
    for pattern, shape in _SHAPES:
        text = pattern.sub(shape, text)
    return _WORD.findall(text.lower())


def features(sentence: str) -> list[str]:
    """The model's features for one sentence: distinct unigrams and adjacent-word bigrams."""
    words = tokens(sentence)
    return list(dict.fromkeys([*words, *(f"{a} {b}" for a, b in zip(words, words[1:], strict=False))]))


def sentence_probability(sentence: str, model: RelevanceModel) -> float:
    """Probability (0–1) that one sentence describes adversary activity."""
    weights = model.weights
    z = model.bias + sum(weights.get(f, 0.0) for f in features(sentence))
    return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))


def scored_sentences(text: str) -> list[str]:
    """The sentences of `text` long enough to judge (at least MIN_WORDS words)."""
    return [s for s in split_sentences(text) if len(s.split()) >= MIN_WORDS]


def relevance_of(sentences: Iterable[str], model: RelevanceModel) -> Relevance:
    """Aggregate sentence probabilities into a Relevance (share 0 for no sentences)."""
    listed = list(sentences)
    hits = sum(sentence_probability(s, model) >= model.sentence_threshold for s in listed)
    return Relevance(hits / len(listed) if listed else 0.0, hits, len(listed))


def article_relevance(article: Article, model: RelevanceModel) -> Relevance:
    """How much the article's title and text read like a threat report; pure and deterministic."""
    return relevance_of(scored_sentences(f"{article.title}.\n{article.text}"), model)
