#!/usr/bin/env python3
"""Accuracy, speed and memory of the ATT&CK stage, on documents held out from the TRAIN split.

Usage: python bench/attack_eval.py [--folds 3] [--data ../shared/data] [--speed-only] [--document-layer]

Documents (TRAM2 full reports, AnnoCTR reports) are split into folds by a fixed hash of their name;
for each fold the model is trained (scripts/train_attack.py's `fit`) on the other documents plus the
general sentences and run through the real stage on the held-out full texts. Document level follows
the SoK protocol (Büchel et al., USENIX Security 2025): per-document F1 of the pooled technique set,
averaged over documents, both sides limited to the dataset's label set (a predicted sub-technique
counts as its parent when only the parent is in the set). Also printed: sentence-level P/R/F1 of the
learned layer, each layer's contribution, the explicit-ID-and-name baseline, a plain TF-IDF +
logistic-regression baseline, the Platt scale fitted on held-out margins, and speed/memory. With
--document-layer, also the unshipped document-level layer of bench/attack_document.py.
"""

from __future__ import annotations

import argparse
import math
import resource
import subprocess
import sys
import time
import zlib
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "scripts"))
sys.path.insert(0, str(REPO / "src"))

from attack_corpus import DEFAULT_DATA, Corpus, Document, load_corpus  # noqa: E402
from train_attack import DEFAULT_OUTPUT as DEFAULT_MODEL  # noqa: E402
from train_attack import (  # noqa: E402
    DOC_THRESHOLD,
    MIN_POSITIVES,
    PLATT,
    Fitted,
    export,
    fit,
    training_examples,
    with_parents,
)  # noqa: E402

from huntbrief.catalog.attack import AttackCatalog, load_attack_catalog  # noqa: E402
from huntbrief.catalog.technique_aliases import TechniqueAliases, load_technique_aliases  # noqa: E402
from huntbrief.catalog.technique_model import TechniqueModel, load_technique_model, model_from_bytes, resolved  # noqa: E402
from huntbrief.model import Article  # noqa: E402
from huntbrief.stages.attack import ALL_LAYERS, MODEL, infer_techniques  # noqa: E402
from huntbrief.stages.attack_model import sentence_probabilities  # noqa: E402
from huntbrief.stages.attack_rules import EXPLICIT, NAME, PHRASE, counting_text  # noqa: E402

CONFIGS = {
    "explicit IDs + names (baseline)": frozenset({EXPLICIT, NAME}),
    "rules (IDs, phrases, names)": frozenset({EXPLICIT, PHRASE, NAME}),
    "model only": frozenset({MODEL}),
    "model + explicit IDs": frozenset({MODEL, EXPLICIT}),
    "model + IDs + phrases": frozenset({MODEL, EXPLICIT, PHRASE}),
    "all layers (shipped)": ALL_LAYERS,
}
Scores = dict[str, list[tuple[float, float, float]]]


def fold_of(doc: Document, folds: int) -> int:
    """The document's fold: a fixed hash of its name (never of its sentences)."""
    return zlib.crc32(doc.name.encode("utf-8")) % folds


def restrict(predicted: Iterable[str], label_set: frozenset[str], catalog: AttackCatalog) -> set[str]:
    """Predictions limited to the dataset's labels; a sub-technique outside the set counts as its parent."""
    out = set()
    for tid in predicted:
        parent = catalog.techniques[tid].parent if tid in catalog.techniques else None
        if tid in label_set:
            out.add(tid)
        elif parent in label_set:
            out.add(str(parent))
    return out


def prf(predicted: set[str], gold: set[str]) -> tuple[float, float, float]:
    """Precision, recall, F1 of one document (both empty: a perfect score)."""
    if not predicted and not gold:
        return 1.0, 1.0, 1.0
    tp = len(predicted & gold)
    p = tp / len(predicted) if predicted else 0.0
    r = tp / len(gold) if gold else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def label_set(corpus: Corpus, dataset: str) -> frozenset[str]:
    """The dataset's label set (TRAM2: its 50 single-label techniques; AnnoCTR: every linked technique)."""
    return corpus.tram_labels if dataset == "tram" else corpus.annoctr_labels


def evaluate_fold(
    corpus: Corpus,
    held: Sequence[Document],
    model: TechniqueModel,
    catalog: AttackCatalog,
    aliases: TechniqueAliases,
) -> tuple[Scores, list[tuple[float, bool]], list[int]]:
    """Per-config document scores, (margin, positive) pairs for Platt, and sentence tp/fp/fn counts."""
    scores: Scores = {}
    margins: list[tuple[float, bool]] = []
    counts = [0, 0, 0]
    for doc in held:
        labels = label_set(corpus, doc.dataset)
        gold = set(doc.gold & labels)
        article = Article(url=None, title="", source=doc.dataset, text=doc.text)
        for name, layers in CONFIGS.items():
            hits = infer_techniques(article, catalog, aliases, model, layers=layers)
            predicted = restrict((h.id for h in hits), labels, catalog)
            scores.setdefault(f"{doc.dataset}|{name}", []).append(prf(predicted, gold))
        _sentence_level(doc, labels, model, catalog, aliases, margins, counts)
    return scores, margins, counts


def _sentence_level(
    doc: Document,
    labels: frozenset[str],
    model: TechniqueModel,
    catalog: AttackCatalog,
    aliases: TechniqueAliases,
    margins: list[tuple[float, bool]],
    counts: list[int],
) -> None:
    index = {tid: i for i, tid in enumerate(model.labels)}
    for sentence in doc.sentences:
        probabilities = sentence_probabilities(counting_text(sentence.text, aliases.context), model, 0.01)
        gold = restrict(sentence.labels, labels, catalog)
        above = {model.labels[i] for i, p in probabilities.items() if p >= model.doc_threshold}
        predicted = restrict(above, labels, catalog)
        counts[0] += len(predicted & gold)
        counts[1] += len(predicted - gold)
        counts[2] += len(gold - predicted)
        targets = with_parents(sentence.labels, catalog)
        for tid in targets:
            if tid in index and (p := probabilities.get(index[tid])):
                margins.append((_logit(p), True))
        for i, p in probabilities.items():
            if model.labels[i] not in targets:
                margins.append((_logit(p), False))


def _logit(p: float) -> float:
    p = min(max(p, 1e-6), 1 - 1e-6)
    return math.log(p / (1 - p))


def plain_baseline(corpus: Corpus, train: Sequence[Document], held: Sequence[Document]) -> Scores:
    """TF-IDF (sklearn defaults, word 1-2-grams) + logistic regression per dataset label, threshold 0.5."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import SGDClassifier

    examples = training_examples(corpus, train)
    wanted = sorted(corpus.tram_labels | corpus.annoctr_labels)
    vectorizer = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True)
    matrix = vectorizer.fit_transform([e.text for e in examples])
    models = {}
    for tid in wanted:
        y = np.fromiter((tid in e.labels for e in examples), dtype=bool, count=len(examples))
        if y.sum() >= 3:
            models[tid] = SGDClassifier(
                loss="log_loss", alpha=1e-5, max_iter=10, tol=None, random_state=0
            ).fit(matrix, y)
    scores: Scores = {}
    for doc in held:
        labels = label_set(corpus, doc.dataset)
        x = vectorizer.transform([s.text for s in doc.sentences])
        predicted = {
            tid for tid, m in models.items() if tid in labels and (m.predict_proba(x)[:, 1] >= 0.5).any()
        }
        scores.setdefault(f"{doc.dataset}|plain TF-IDF + LR", []).append(
            prf(predicted, set(doc.gold & labels))
        )
    return scores


def fitted_model(
    fitted: Fitted, catalog: AttackCatalog, doc_threshold: float = DOC_THRESHOLD
) -> TechniqueModel:
    """Export and reload, so the bench measures exactly what the package would run."""
    return resolved(model_from_bytes(export(fitted, catalog, doc_threshold=doc_threshold), "bench"), catalog)


def report(scores: Scores) -> None:
    for dataset in ("tram", "annoctr"):
        title = "TRAM2" if dataset == "tram" else "AnnoCTR"
        rows = {k.split("|", 1)[1]: v for k, v in scores.items() if k.startswith(dataset + "|")}
        print(
            f"\n{title}: document level, SoK protocol ({len(next(iter(rows.values())))} held-out documents)"
        )
        for name, values in rows.items():
            p, r, f = (sum(v[i] for v in values) / len(values) for i in range(3))
            print(f"  {name:34s} F1 {f:.3f}   P {p:.3f}   R {r:.3f}")


def platt_fit(margins: list[tuple[float, bool]]) -> tuple[float, float]:
    """1-D logistic regression of 'positive' on the exported logit: the correction to apply to PLATT."""
    from sklearn.linear_model import LogisticRegression

    x = np.array([[m] for m, _ in margins])
    y = np.array([t for _, t in margins])
    lr = LogisticRegression(C=100.0).fit(x, y)
    return float(lr.coef_[0][0]), float(lr.intercept_[0])


def speed_and_memory() -> None:
    """Model load time, 20 KB article time after warm-up, peak RSS: the packaged model, one process."""
    from huntbrief.stages.text import split_sentences  # noqa: F401 - warm import

    started = time.perf_counter()
    catalog = load_attack_catalog()
    aliases = load_technique_aliases(catalog)
    model = load_technique_model(catalog)
    load = time.perf_counter() - started
    text = _sample_text(20_000)
    article = Article(url=None, title="Sample", source="bench", text=text)
    infer_techniques(article, catalog, aliases, model)
    runs = []
    for _ in range(5):
        started = time.perf_counter()
        hits = infer_techniques(article, catalog, aliases, model)
        runs.append(time.perf_counter() - started)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"speed: catalogue+aliases+model load {load:.2f} s; 20 KB article {min(runs):.3f} s best / "
        f"{sorted(runs)[2]:.3f} s median of 5 ({len(hits)} techniques); peak RSS {peak:.0f} MB"
    )


def _sample_text(size: int) -> str:
    folder = DEFAULT_DATA / "attack-train" / "annoctr" / "text"
    parts: list[str] = []
    for path in sorted(folder.glob("*.txt")):
        parts.append(path.read_text(encoding="utf-8"))
        if sum(map(len, parts)) >= size:
            break
    return "\n".join(parts)[:size]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--folds", type=int, default=3, help="number of document folds (each is held out once)"
    )
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--speed-only", action="store_true", help="only the speed and memory figures")
    parser.add_argument("--no-baseline", action="store_true", help="skip the plain TF-IDF + LR baseline")
    parser.add_argument("--min-positives", type=int, default=None, help="model fewer techniques (smoke runs)")
    parser.add_argument("--max-folds", type=int, default=None, help="evaluate only the first N folds")
    parser.add_argument(
        "--document-layer", action="store_true", help="also measure the (unshipped) document-level layer"
    )
    args = parser.parse_args(argv)
    if args.speed_only:
        speed_and_memory()
        return 0
    if DEFAULT_MODEL.is_file():
        subprocess.run([sys.executable, __file__, "--speed-only"], check=True)  # a clean process for memory
    run_folds(args)
    return 0


def run_folds(args: argparse.Namespace) -> None:
    catalog = load_attack_catalog()
    aliases = load_technique_aliases(catalog)
    corpus = load_corpus(args.data)
    scores: Scores = {}
    margins: list[tuple[float, bool]] = []
    counts = [0, 0, 0]
    thresholds: dict[float, Scores] = {}
    for fold in range(args.max_folds or args.folds):
        train = [d for d in corpus.documents if fold_of(d, args.folds) != fold]
        held = [d for d in corpus.documents if fold_of(d, args.folds) == fold]
        fitted = fit(
            training_examples(corpus, train), catalog, min_positives=args.min_positives or MIN_POSITIVES
        )
        model = fitted_model(fitted, catalog)
        fold_scores, fold_margins, fold_counts = evaluate_fold(corpus, held, model, catalog, aliases)
        _merge(scores, fold_scores)
        margins.extend(fold_margins)
        counts = [a + b for a, b in zip(counts, fold_counts, strict=True)]
        for threshold in (0.3, 0.4, 0.5, 0.6, 0.7):
            _merge(
                thresholds.setdefault(threshold, {}),
                _model_only(corpus, held, fitted_model(fitted, catalog, threshold), catalog, aliases),
            )
        if not args.no_baseline:
            _merge(scores, plain_baseline(corpus, train, held))
        if args.document_layer:
            _merge(scores, _document_layer(corpus, train, held, model, catalog, aliases))
        print(f"fold {fold + 1}/{args.folds} done ({len(held)} held-out documents)", file=sys.stderr)
    report(scores)
    tp, fp, fn = counts
    p, r = tp / max(tp + fp, 1), tp / max(tp + fn, 1)
    print(
        "\nsentence level (learned layer, micro, dataset label sets): "
        f"P {p:.3f}  R {r:.3f}  F1 {2 * p * r / max(p + r, 1e-9):.3f}"
    )
    a, b = platt_fit(margins)
    print(
        f"Platt check on held-out sentences: logit' = {a:.2f} * logit + {b:.2f} "
        f"(1, 0 = calibrated; PLATT={PLATT})"
    )
    print("\nmodel + rules at other document thresholds:")
    for threshold, values in thresholds.items():
        line = "  ".join(
            f"{k.split('|')[0]} F1 {sum(v[2] for v in vs) / len(vs):.3f}" for k, vs in values.items()
        )
        print(f"  {threshold:.1f}: {line}")


def _model_only(
    corpus: Corpus,
    held: Sequence[Document],
    model: TechniqueModel,
    catalog: AttackCatalog,
    aliases: TechniqueAliases,
) -> Scores:
    scores: Scores = {}
    for doc in held:
        labels = label_set(corpus, doc.dataset)
        hits = infer_techniques(
            Article(url=None, title="", source="", text=doc.text), catalog, aliases, model
        )
        scores.setdefault(f"{doc.dataset}|all", []).append(
            prf(restrict((h.id for h in hits), labels, catalog), set(doc.gold & labels))
        )
    return scores


def _document_layer(
    corpus: Corpus,
    train: Sequence[Document],
    held: Sequence[Document],
    model: TechniqueModel,
    catalog: AttackCatalog,
    aliases: TechniqueAliases,
) -> Scores:
    """Scores of the experimental document-level layer (bench/attack_document.py) on the held-out fold."""
    from attack_document import predictions

    scores: Scores = {}
    for name, predicted in predictions(corpus, train, held, model, catalog, aliases).items():
        for doc in held:
            labels = label_set(corpus, doc.dataset)
            scores.setdefault(f"{doc.dataset}|{name}", []).append(
                prf(restrict(predicted[doc.name], labels, catalog), set(doc.gold & labels))
            )
    return scores


def _merge(into: Scores, more: Scores) -> None:
    for key, values in more.items():
        into.setdefault(key, []).extend(values)


if __name__ == "__main__":
    sys.exit(main())
