#!/usr/bin/env python3
"""Train src/huntbrief/catalog/data/relevance.json: "does this sentence describe adversary activity?".

Usage: python scripts/train_relevance.py [--data ../shared/data] [-o OUTPUT] [--cv-only]

Positives: sentences labelled with an ATT&CK technique (TRAM single-label and bootstrap sets, TRAM
report spans, AnnoCTR technique mentions). Negatives: TRAM's negative sentences, report sentences
outside every technique span, and every sentence of the articles manifest's non-threat documents.
Logistic regression by plain SGD on unigram+bigram features, fixed seed, stdlib only: the same data
always gives the same bytes. Cross-validation holds out whole documents (all of their sentences, by
normalised title), so no reported figure comes from a document the model was trained on.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import re
import sys
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO / "src") not in sys.path:  # run from a checkout without installing the package
    sys.path.insert(0, str(REPO / "src"))

from huntbrief.catalog.relevance import FORMAT_VERSION, RelevanceModel  # noqa: E402
from huntbrief.stages.relevance import features, relevance_of, scored_sentences  # noqa: E402
from huntbrief.stages.text import split_sentences  # noqa: E402

DEFAULT_DATA = REPO.parent / "shared" / "data"
DEFAULT_OUTPUT = REPO / "src" / "huntbrief" / "catalog" / "data" / "relevance.json"
SEED = 20250825
EPOCHS = 6
LEARNING_RATE = 0.2
L2 = 1e-5
MIN_COUNT = 5
KEEP_WEIGHT = 0.02  # features with a smaller |weight| are dropped from the shipped model
MAX_FEATURES = 6000  # the strongest features ship
FOLDS = 5
SENTENCE_THRESHOLD = 0.5
NON_THREAT_WEIGHT = 4.0  # a sentence from a security-vendor non-threat post counts this many times
OUTSIDE_SPAN_WEIGHT = 0.5  # a threat-report sentence outside every technique span (noisy negative)


@dataclass(frozen=True, slots=True)
class Example:
    """One training sentence: features, label (1 = activity), weight, and its document key ("" = none)."""

    feats: tuple[str, ...]
    label: int
    weight: float
    doc: str


@dataclass(frozen=True, slots=True)
class Document:
    """One whole document for document-level evaluation; `threat` is None when its kind is unknown."""

    key: str
    name: str
    text: str
    threat: bool | None
    origin: str  # "manifest" | "annoctr" | "tram"


def doc_key(title: str) -> str:
    """The grouping key of a document: its title (or file stem) lower-cased, letters and digits only."""
    return re.sub(r"[^a-z0-9]", "", title.lower())


def _example(text: str, label: int, weight: float, doc: str) -> Example | None:
    feats = tuple(features(text))
    return Example(feats, label, weight, doc) if feats else None


def tram_examples(root: Path) -> Iterable[Example | None]:
    """TRAM single-label and bootstrap positives, TRAM negatives, and mjson span/non-span sentences."""
    for row in json.loads((root / "single_label.train.json").read_text(encoding="utf-8")):
        yield _example(row["text"], 1, 1.0, doc_key(row["doc_title"]))
    boot = json.loads((root / "bootstrap-training-data.json").read_text(encoding="utf-8"))
    for row in boot["sentences"]:
        if row.get("mappings"):
            yield _example(row["text"], 1, 1.0, "")
    for text in json.loads((root / "negative_data.json").read_text(encoding="utf-8")):
        yield _example(text, 0, 1.0, "")
    for path in sorted((root / "mjson_files").glob("*.mjson")):
        yield from _span_examples(json.loads(path.read_text(encoding="utf-8")), doc_key(path.stem))


_TECHNIQUE_SET = re.compile(r"\(T\d{4}(?:\.\d{3})?\)\s*$")


def _span_examples(report: dict[str, object], key: str) -> Iterable[Example | None]:
    signal = str(report["signal"])
    spans = [
        (int(a[0]), int(a[1]))
        for aset in report.get("asets", []) or []  # type: ignore[attr-defined]
        if _TECHNIQUE_SET.search(str(aset.get("type", "")))
        for a in aset.get("annots", []) or []
    ]
    cursor = 0
    for sentence in split_sentences(signal):
        start = signal.find(sentence[:40], cursor)
        start = cursor if start < 0 else start
        end = start + len(sentence)
        cursor = end
        inside = any(s < end and start < e for s, e in spans)
        if len(sentence.split()) >= 4:
            yield _example(sentence, int(inside), 1.0 if inside else OUTSIDE_SPAN_WEIGHT, key)


def annoctr_examples(root: Path) -> Iterable[Example | None]:
    """AnnoCTR technique mentions: the sentence around each TECHNIQUE mention is a positive."""
    for path in sorted((root / "linking_mitre_only").glob("*.json")):
        seen: set[str] = set()
        for line in path.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            if row.get("entity_type") != "TECHNIQUE":
                continue
            text = f"{row['_context_left']}{row['mention']}{row['_context_right']}"
            if text not in seen:
                seen.add(text)
                yield _example(text, 1, 1.0, doc_key(path.stem))


def manifest_documents(folder: Path) -> list[Document]:
    """The articles manifest: threat reports (True), non-threat posts (False); ambiguous kinds None."""
    docs = []
    for line in (folder / "manifest.jsonl").read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        expected = row["expected_priority"]
        threat = {"MEDIUM_OR_HIGH": True, "LOW_OR_INFO": False}.get(expected)
        key = doc_key(Path(row["source_path"]).stem)
        text = f"{row['title']}.\n{(folder / row['file']).read_text(encoding='utf-8')}"
        docs.append(Document(key, row["file"], text, threat, "manifest"))
    return docs


def training_documents(data: Path) -> list[Document]:
    """The attack-train reports as whole documents (assumed threat reports) for document-level recall."""
    docs = []
    for path in sorted((data / "attack-train" / "annoctr" / "text").glob("*.txt")):
        docs.append(
            Document(doc_key(path.stem), path.name, path.read_text(encoding="utf-8"), True, "annoctr")
        )
    for path in sorted((data / "attack-train" / "tram" / "mjson_files").glob("*.mjson")):
        signal = json.loads(path.read_text(encoding="utf-8"))["signal"]
        docs.append(Document(doc_key(path.stem), path.name, signal, True, "tram"))
    return docs


def non_threat_examples(docs: Sequence[Document]) -> list[Example]:
    """Every judged sentence of a non-threat manifest document, as a weighted negative."""
    found = [
        _example(s, 0, NON_THREAT_WEIGHT, d.key)
        for d in docs
        if d.threat is False
        for s in scored_sentences(d.text)
    ]
    return [e for e in found if e is not None]


def load_examples(data: Path, manifest: Sequence[Document]) -> list[Example]:
    """All training sentences, in a fixed order."""
    tram = data / "attack-train" / "tram"
    raw = [*tram_examples(tram), *annoctr_examples(data / "attack-train" / "annoctr")]
    return [e for e in raw if e is not None] + non_threat_examples(manifest)


def train(examples: Sequence[Example], seed: int = SEED) -> tuple[dict[str, float], float]:
    """Class-balanced logistic regression by SGD with L2, fixed shuffle seed; returns (weights, bias)."""
    counts = Counter(f for e in examples for f in e.feats)
    vocab = {f for f, n in counts.items() if n >= MIN_COUNT}
    totals: dict[int, float] = {0: 0.0, 1: 0.0}
    for e in examples:
        totals[e.label] += e.weight
    balance = {label: sum(totals.values()) / (2 * total) for label, total in totals.items()}
    rows = [([f for f in e.feats if f in vocab], e.label, e.weight * balance[e.label]) for e in examples]
    weights: dict[str, float] = dict.fromkeys(sorted(vocab), 0.0)
    bias = 0.0
    rng = random.Random(seed)
    for epoch in range(EPOCHS):
        order = list(range(len(rows)))
        rng.shuffle(order)
        rate = LEARNING_RATE / (1 + epoch)
        for i in order:
            feats, label, weight = rows[i]
            z = bias + sum(weights[f] for f in feats)
            p = 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))
            g = (p - label) * weight * rate
            bias -= g
            for f in feats:
                weights[f] -= g + rate * L2 * weights[f]
    return weights, bias


def as_model(weights: dict[str, float], bias: float) -> RelevanceModel:
    """The trained weights, pruned and rounded, as the RelevanceModel that would ship."""
    strongest = sorted(weights.items(), key=lambda fw: (-abs(fw[1]), fw[0]))[:MAX_FEATURES]
    kept = {f: round(w, 3) for f, w in sorted(strongest) if abs(w) >= KEEP_WEIGHT}
    return RelevanceModel(kept, round(bias, 4), SENTENCE_THRESHOLD)


def fold_of(key: str) -> int:
    """A document's cross-validation fold: a fixed hash of its key (stable across runs and machines)."""
    return sum((i + 1) * ord(c) for i, c in enumerate(key)) % FOLDS


def cross_validate(
    examples: Sequence[Example], docs: Sequence[Document]
) -> dict[str, tuple[float, Document]]:
    """Out-of-fold relevance share per document: each fold's model never saw that fold's documents."""
    shares: dict[str, tuple[float, Document]] = {}
    for fold in range(FOLDS):
        held = {d.key for d in docs if fold_of(d.key) == fold}
        model = as_model(*train([e for e in examples if e.doc not in held]))
        for doc in docs:
            if doc.key in held:
                shares[doc.name] = (relevance_of(scored_sentences(doc.text), model).share, doc)
        print(f"  fold {fold + 1}/{FOLDS}: {len(held)} documents held out", file=sys.stderr)
    return shares


def all_documents(data: Path) -> tuple[list[Document], list[Document]]:
    """(manifest documents, every document for evaluation with manifest copies taking precedence)."""
    manifest = manifest_documents(data / "articles")
    known = {d.key for d in manifest}
    return manifest, manifest + [d for d in training_documents(data) if d.key not in known]


def write_model(model: RelevanceModel, output: Path, examples: Sequence[Example]) -> None:
    """Write the shipped model as sorted, stable JSON with its provenance."""
    positives = sum(e.label for e in examples)
    payload = {
        "version": FORMAT_VERSION,
        "metadata": {
            "trained_by": "scripts/train_relevance.py",
            "seed": SEED,
            "epochs": EPOCHS,
            "sentences": {"activity": positives, "other": len(examples) - positives},
            "sources": "MITRE CTID TRAM (Apache-2.0), Bosch AnnoCTR (CC-BY-SA-4.0), shared articles manifest",
        },
        "bias": model.bias,
        "sentence_threshold": model.sentence_threshold,
        "weights": dict(model.weights),
    }
    output.write_text(
        json.dumps(payload, indent=0, sort_keys=False, ensure_ascii=False) + "\n", encoding="utf-8"
    )


def main(argv: list[str] | None = None) -> int:
    """Train on all data and write the model (or only print cross-validated shares with --cv-only)."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the shared data folder")
    parser.add_argument("-o", "--output", type=Path, default=DEFAULT_OUTPUT, help="where to write")
    parser.add_argument("--cv-only", action="store_true", help="print cross-validated shares, write nothing")
    args = parser.parse_args(argv)
    manifest, docs = all_documents(args.data)
    examples = load_examples(args.data, manifest)
    if args.cv_only:
        for name, (share, doc) in sorted(cross_validate(examples, docs).items(), key=lambda x: x[1][0]):
            print(f"{share:.3f}\t{doc.origin}\t{doc.threat}\t{name}")
        return 0
    model = as_model(*train(examples))
    write_model(model, args.output, examples)
    print(f"wrote {args.output}: {len(model.weights)} features from {len(examples)} sentences")
    return 0


if __name__ == "__main__":
    sys.exit(main())
