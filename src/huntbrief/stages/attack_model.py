"""The learned layer of the ATT&CK stage: word n-gram features and sparse linear scoring of sentences.

`sentence_features` is also what `scripts/train_attack.py` trains on, so training and inference see
the same features. Pure standard-library Python: the model is a sparse matrix of array('f') values.
"""

from __future__ import annotations

import math
import re
from collections import Counter

from huntbrief.catalog.technique_model import TechniqueModel

_TOKEN = re.compile(r"[a-z][a-z0-9]*|\d+")
_SUFFIXES = ("ing", "ed", "es", "s")
_MIN_STEM = 4
_STEM_FROM = 6  # only words of at least this many letters lose a suffix


def _stem(token: str) -> str:
    """A light suffix strip (creates/created/creating -> creat); any number becomes "0"."""
    if token[0].isdigit():
        return "0"
    if len(token) >= _STEM_FROM:
        for suffix in _SUFFIXES:
            if token.endswith(suffix) and len(token) - len(suffix) >= _MIN_STEM:
                return token[: -len(suffix)]
    return token


def sentence_features(text: str) -> list[str]:
    """The lower-cased, lightly stemmed words of `text` followed by its word bigrams ("a b")."""
    tokens = [_stem(t) for t in _TOKEN.findall(text.lower())]
    return [*tokens, *(f"{a} {b}" for a, b in zip(tokens, tokens[1:], strict=False))]


def sentence_probabilities(text: str, model: TechniqueModel, floor: float = 0.05) -> dict[int, float]:
    """Label index -> probability for `text`, keeping labels at or above `floor` (all below: {}).

    TF-IDF with sublinear term frequency and L2 norm, as in training; unknown n-grams are ignored.
    """
    counts = Counter(sentence_features(text))
    rows = [
        (row, (1.0 + math.log(n)) * model.idf[row])
        for f, n in counts.items()
        if (row := model.vocab.get(f)) is not None
    ]
    norm = math.sqrt(sum(v * v for _, v in rows))
    if norm == 0.0:
        return {}
    scores: dict[int, float] = {}
    indptr, cols, weights = model.indptr, model.cols, model.weights
    for row, value in rows:
        scale = value / norm
        for k in range(indptr[row], indptr[row + 1]):
            label = cols[k]
            scores[label] = scores.get(label, 0.0) + weights[k] * scale
    logit_floor = math.log(floor / (1.0 - floor))
    return {
        label: 1.0 / (1.0 + math.exp(-logit))
        for label, partial in scores.items()
        if (logit := model.bias[label] + partial) >= logit_floor
    }
