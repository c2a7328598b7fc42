#!/usr/bin/env python3
"""Train huntbrief's learned ATT&CK sentence model and write it as package data.

Usage: python scripts/train_attack.py [--data ../shared/data] [-o OUTPUT]
(OUTPUT defaults to src/huntbrief/catalog/data/technique-model.bin.gz)

Trains only on the TRAIN split in DATA/attack-train (TRAM2 reports and single-label sentences,
bootstrap procedure sentences, negatives, AnnoCTR train+dev) plus the ATT&CK procedure examples of
DATA/attack/enterprise-attack-lite.json with actor and software names masked. Features are the
package's own `sentence_features` (stemmed words and bigrams), weighted TF-IDF; one linear SVM per
technique (a sub-technique's sentences also teach its parent), its margin mapped to a probability
by a Platt scale measured with `bench/attack_eval.py`. Small weights are pruned so the file stays a
few MB. Needs scikit-learn (training only); deterministic for a given data set.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.svm import LinearSVC

sys.path.insert(0, str(Path(__file__).resolve().parent))
from attack_corpus import DEFAULT_DATA, REPO, Corpus, Document, Example, load_corpus  # noqa: E402

from huntbrief.catalog.attack import AttackCatalog, load_attack_catalog  # noqa: E402
from huntbrief.catalog.technique_model import render_model  # noqa: E402
from huntbrief.stages.attack_model import sentence_features  # noqa: E402

DEFAULT_OUTPUT = REPO / "src" / "huntbrief" / "catalog" / "data" / "technique-model.bin.gz"
SEED = 1729
C = 0.5  # SVM regularisation (chosen with bench/attack_eval.py)
MIN_POSITIVES = 3  # techniques with fewer training sentences are not modelled
MIN_DF = 2
PRUNE = 0.05  # weights smaller than this (in margin units) are dropped from the shipped file
PLATT = (2.0, 0.0)  # logit = a * margin + b, measured on held-out documents by bench/attack_eval.py
DOC_THRESHOLD = 0.5  # a technique is reported for a document at this sentence probability
SENTENCE_THRESHOLD = 0.3  # a sentence at this probability is shown as evidence


@dataclass
class Fitted:
    """A trained model before export: vocabulary, IDF, dense weights (features x labels), biases."""

    vocab: list[str]
    idf: np.ndarray[Any, Any]
    weights: np.ndarray[Any, Any]
    bias: np.ndarray[Any, Any]
    labels: list[str]


def training_examples(corpus: Corpus, documents: Sequence[Document]) -> list[Example]:
    """The general sentences plus every sentence of the given documents (labelled and negative)."""
    out = list(corpus.general)
    for doc in documents:
        out.extend(doc.sentences)
        out.extend(doc.extra)
    return out


def with_parents(labels: frozenset[str], catalog: AttackCatalog) -> set[str]:
    """The labels plus the parent technique of each sub-technique."""
    return set(labels) | {p for tid in labels if (p := catalog.techniques[tid].parent)}


def fit(
    examples: Sequence[Example],
    catalog: AttackCatalog,
    c: float = C,
    min_positives: int = MIN_POSITIVES,
    log: bool = True,
) -> Fitted:
    """Vectorise the examples and train one linear SVM per technique with enough positives."""
    started = time.monotonic()
    targets = [with_parents(e.labels, catalog) for e in examples]
    counts = Counter(label for target in targets for label in target)
    labels = sorted(label for label, n in counts.items() if n >= min_positives)
    vectorizer = TfidfVectorizer(analyzer=sentence_features, sublinear_tf=True, min_df=MIN_DF)
    matrix = vectorizer.fit_transform([e.text for e in examples]).tocsr()  # float64: liblinear's own type
    weights = np.zeros((matrix.shape[1], len(labels)), dtype=np.float32)
    bias = np.zeros(len(labels), dtype=np.float64)
    for j, label in enumerate(labels):
        y = np.fromiter((label in t for t in targets), dtype=bool, count=len(targets))
        svm = LinearSVC(C=c, random_state=SEED, max_iter=2000)
        svm.fit(matrix, y)
        weights[:, j], bias[j] = svm.coef_[0], svm.intercept_[0]
    if log:
        print(
            f"trained {len(labels)} techniques on {matrix.shape[0]:,} sentences x {matrix.shape[1]:,} "
            f"n-grams in {time.monotonic() - started:.0f} s",
            file=sys.stderr,
        )
    vocab = [""] * len(vectorizer.vocabulary_)
    for word, index in vectorizer.vocabulary_.items():
        vocab[index] = word
    return Fitted(vocab, vectorizer.idf_.astype(np.float32), weights, bias, labels)


def export(
    fitted: Fitted,
    catalog: AttackCatalog,
    platt: tuple[float, float] = PLATT,
    doc_threshold: float = DOC_THRESHOLD,
    sentence_threshold: float = SENTENCE_THRESHOLD,
    prune: float = PRUNE,
) -> bytes:
    """The model file: Platt-scaled weights above `prune`, features that keep no weight dropped."""
    a, b = platt
    weights = fitted.weights * a
    keep = np.abs(fitted.weights) >= prune
    rows = np.nonzero(keep.any(axis=1))[0]
    indptr, cols, values = [0], [], []
    for row in rows:
        nz = np.nonzero(keep[row])[0]
        cols.extend(int(c) for c in nz)
        values.extend(float(v) for v in weights[row, nz])
        indptr.append(len(cols))
    header = {
        "labels": fitted.labels,
        "bias": [round(float(x) * a + b, 6) for x in fitted.bias],
        "doc_threshold": doc_threshold,
        "sentence_threshold": sentence_threshold,
        "features": {"function": "huntbrief.stages.attack_model.sentence_features", "tfidf": "sublinear-l2"},
        "trained": {
            "attack_version": catalog.version,
            "script": "scripts/train_attack.py",
            "seed": SEED,
            "c": C,
            "prune": prune,
            "data": "attack-train (TRAM2, AnnoCTR train+dev, bootstrap, negatives) "
            "+ ATT&CK procedure examples",
        },
    }
    # Features without any kept weight still count in the sentence's L2 norm, so keep their IDF:
    # they are listed after the weighted rows with empty weight ranges.
    rest = np.nonzero(~keep.any(axis=1))[0]
    order = [*rows.tolist(), *rest.tolist()]
    indptr.extend([len(cols)] * len(rest))
    vocab = [fitted.vocab[i] for i in order]
    idf = [float(fitted.idf[i]) for i in order]
    return render_model(header, vocab, idf, indptr, cols, values)


def main(argv: list[str] | None = None) -> int:
    """Train on the whole train split and write the model file; returns the exit status."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the shared data folder")
    parser.add_argument("-o", "--output", type=Path, default=DEFAULT_OUTPUT, help="where to write the model")
    args = parser.parse_args(argv)
    np.random.seed(SEED)
    catalog = load_attack_catalog()
    corpus = load_corpus(args.data)
    fitted = fit(training_examples(corpus, corpus.documents), catalog)
    data = export(fitted, catalog)
    args.output.write_bytes(data)
    print(f"wrote {args.output} ({len(data):,} bytes, {len(fitted.labels)} techniques)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
