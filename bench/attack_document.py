"""Experiment for bench/attack_eval.py --document-layer: a document-level technique layer on held-out folds.

Per fold: whole-report TF-IDF (the package's `sentence_features`, sublinear, min_df 2) and one
logistic regression per technique with at least 3 training documents (gold labels plus parents),
trained on the fold's training documents only. A technique is added to the shipped layers' output
when its document probability reaches `threshold` AND some counting sentence gives evidence for it
(a rule hit, or a sentence-layer probability at or above `floor` for it or one of its
sub-techniques). Not shipped: the figures are printed next to the shipped system's.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np
from attack_corpus import Corpus, Document
from train_attack import with_parents

from huntbrief.catalog.attack import AttackCatalog
from huntbrief.catalog.technique_aliases import TechniqueAliases
from huntbrief.catalog.technique_model import TechniqueModel
from huntbrief.model import Article
from huntbrief.stages.attack import infer_techniques
from huntbrief.stages.attack_model import sentence_features, sentence_probabilities
from huntbrief.stages.attack_rules import EXPLICIT, NAME, PHRASE, counting_text, rule_matches
from huntbrief.stages.text import split_sentences

# (document probability, evidence floor) combinations reported; chosen before looking at any fold.
SETTINGS = ((0.3, 0.3), (0.5, 0.2), (0.7, 0.05))
C_DOC = 10.0
MIN_DOCS = 3
Prediction = dict[str, set[str]]  # document name -> predicted technique IDs


def document_probabilities(
    train: Sequence[Document], held: Sequence[Document], catalog: AttackCatalog
) -> dict[str, dict[str, float]]:
    """Held-out document name -> technique -> probability from the document-level layer."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    vectorizer = TfidfVectorizer(analyzer=sentence_features, sublinear_tf=True, min_df=2, max_df=0.9)
    matrix = vectorizer.fit_transform([d.text for d in train])
    targets = [with_parents(d.gold, catalog) for d in train]
    counts = Counter(t for target in targets for t in target)
    labels = sorted(t for t, n in counts.items() if n >= MIN_DOCS)
    held_matrix = vectorizer.transform([d.text for d in held])
    out: dict[str, dict[str, float]] = {d.name: {} for d in held}
    for label in labels:
        y = np.fromiter((label in t for t in targets), dtype=bool, count=len(targets))
        lr = LogisticRegression(C=C_DOC, solver="liblinear").fit(matrix, y)
        for doc, p in zip(held, lr.predict_proba(held_matrix)[:, 1], strict=True):
            out[doc.name][label] = float(p)
    return out


def evidence(
    doc: Document, model: TechniqueModel, catalog: AttackCatalog, aliases: TechniqueAliases
) -> dict[str, float]:
    """Technique -> its best counting-sentence strength (rule hit 1.0, else sentence probability)."""
    sentences = split_sentences(doc.text)
    best: dict[str, float] = {}
    for sentence in sentences:
        text = counting_text(sentence, aliases.context)
        for label, p in (sentence_probabilities(text, model, 0.05) if text else {}).items():
            tid = model.labels[label]
            best[tid] = max(best.get(tid, 0.0), p)
    layers = frozenset({EXPLICIT, PHRASE, NAME})
    for matches in rule_matches(sentences, catalog, aliases, layers).values():
        for match in matches:
            best[match.technique] = 1.0
    for tid, value in list(best.items()):  # a sub-technique's evidence also supports its parent
        if tid in catalog.techniques and (parent := catalog.techniques[tid].parent):
            best[parent] = max(best.get(parent, 0.0), value)
    return best


def predictions(
    corpus: Corpus,
    train: Sequence[Document],
    held: Sequence[Document],
    model: TechniqueModel,
    catalog: AttackCatalog,
    aliases: TechniqueAliases,
) -> dict[str, Prediction]:
    """Setting name -> per held-out document predictions (the shipped layers plus the document layer)."""
    del corpus
    probabilities = document_probabilities(train, held, catalog)
    out: dict[str, Prediction] = {}
    for doc in held:
        article = Article(url=None, title="", source=doc.dataset, text=doc.text)
        shipped = {h.id for h in infer_techniques(article, catalog, aliases, model)}
        support = evidence(doc, model, catalog, aliases)
        out.setdefault("document layer only (p >= 0.5)", {})[doc.name] = {
            t for t, p in probabilities[doc.name].items() if p >= 0.5
        }
        for threshold, floor in SETTINGS:
            added = {
                t
                for t, p in probabilities[doc.name].items()
                if p >= threshold and support.get(t, 0.0) >= floor
            }
            name = f"all + document (p>={threshold}, ev>={floor})"
            out.setdefault(name, {})[doc.name] = shipped | added
    return out
