#!/usr/bin/env python3
"""Error analysis of the ATT&CK stage on held-out documents, and nested-CV threshold experiments.

Usage: nice python bench/attack_errors.py [--folds 3] [--inner 3] [--data ../shared/data]
                                         [--cache /tmp/attack_work/cache] [--top 15] [--no-experiments]

Same protocol as bench/attack_eval.py: documents split into folds by `fold_of` (a hash of the name);
for each fold the model is trained with scripts/train_attack.py's `fit` on the other documents plus
the general sentences, exported and reloaded, and the stage's own layers are run on the held-out
full texts; document F1 follows the SoK protocol (`restrict`, `prf` of attack_eval.py).

Per held-out document the script records what every layer saw: the rule layers' findings per
technique and the learned layer's best sentence probability per technique (down to 0.01, i.e. far
below the reporting threshold). The stage's decision (a technique is reported when a rule layer
fires or its best sentence probability reaches the threshold; a parent is dropped when one of its
sub-techniques is reported unless its own ID is written) is then replayed from that record; the
replay is checked against `infer_techniques` at the shipped settings. From the record it prints
  * the most frequent false negatives and false positives per dataset, with counts,
  * which layer produced each false positive,
  * for each false negative whether the learned layer had the technique below threshold (and how
    far below), whether it was suppressed or mapped to another label, or whether no layer had it,
  * AnnoCTR's gold split into parent and sub-techniques and how often a miss was the right
    parent's wrong sub-technique or a sibling.

Experiments (--no-experiments to skip): every tuned quantity is chosen on the outer fold's TRAINING
documents only, by an inner split of them (`inner_fold_of`, a different hash): inner models are
trained on the inner-train documents and their held-out inner documents pick the parameters, which
are then applied unchanged to the outer held-out documents with the outer model.
  global-thr      one document threshold for the learned layer (control)
  per-tech-thr    a threshold per technique by coordinate ascent on mean document F1
  per-tech+gate   per-technique thresholds plus, per technique, whether phrase/name-only
                  evidence needs the learned layer's agreement (explicit IDs are never gated)
  parent-too      (untuned) also report the parent of every reported sub-technique
Trained models and per-document records are cached under --cache, keyed by the training documents
and the training code, so re-runs only replay.
"""

from __future__ import annotations

import argparse
import hashlib
import pickle
import sys
import time
import zlib
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))
sys.path.insert(0, str(REPO / "scripts"))
sys.path.insert(0, str(REPO / "src"))

from attack_corpus import DEFAULT_DATA, Corpus, Document, load_corpus  # noqa: E402
from attack_eval import fold_of, label_set, prf, restrict  # noqa: E402
from train_attack import DOC_THRESHOLD, MIN_POSITIVES, export, fit, training_examples  # noqa: E402

from huntbrief.catalog.attack import AttackCatalog, load_attack_catalog  # noqa: E402
from huntbrief.catalog.technique_aliases import TechniqueAliases, load_technique_aliases  # noqa: E402
from huntbrief.catalog.technique_model import TechniqueModel, model_from_bytes, resolved  # noqa: E402
from huntbrief.model import Article  # noqa: E402
from huntbrief.stages.attack import MODEL, _sentences, infer_techniques  # noqa: E402
from huntbrief.stages.attack_model import sentence_probabilities  # noqa: E402
from huntbrief.stages.attack_rules import EXPLICIT, NAME, PHRASE, counting_text, rule_matches  # noqa: E402

TOP_K = 3
FLOOR = 0.01  # lowest sentence probability recorded (the stage keeps >= 0.3 as evidence, reports >= 0.5)
RULE_LAYERS = frozenset({EXPLICIT, PHRASE, NAME})
BARE = "bare-row"  # marker: the rule evidence is only mapping-table rows
LAYER_ORDER = (EXPLICIT, PHRASE, NAME, MODEL)
GRID = (0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95, 1.01)
GATES = (0.0, 0.05, 0.1, 0.2, 0.3, 1.01)  # rule-only evidence kept when the model's best p >= gate
MIN_GAIN = 0.002  # a per-technique change must raise the inner objective by this much (fixed a priori)
EXPERIMENTS = [
    "global-thr",
    "per-tech-thr",
    "per-tech-thr@0.5",
    "per-tech-thr@0.5 gain/4",
    "per-tech-thr@0.5 keepP",
    "per-tech-thr@0.5 keepP gain/4",
    "parent-too + per-tech@0.5",
    "parent-too + per-tech@0.5 keepP",
    "noisy-or-k",
]
CODE = ("scripts/train_attack.py", "scripts/attack_corpus.py", "src/huntbrief/stages/attack_model.py")


@dataclass(slots=True)
class Record:
    """What the layers saw in one document: rule findings and the model's best probability per technique."""

    name: str
    dataset: str
    gold: frozenset[str]  # restricted to the dataset's label set
    labels: frozenset[str]
    rules: dict[str, frozenset[str]] = field(default_factory=dict)
    maxp: dict[str, float] = field(default_factory=dict)
    top: dict[str, tuple[float, ...]] = field(default_factory=dict)  # best TOP_K sentence probabilities
    bare_only: frozenset[str] = frozenset()  # rule evidence is only mapping-table rows (bare ID / name)


@dataclass(frozen=True, slots=True)
class Policy:
    """How the emitted set is decided from a record (the shipped stage: global 0.5, no gate)."""

    threshold: float = DOC_THRESHOLD
    per_technique: Mapping[str, float] = field(default_factory=dict)
    gate: Mapping[str, float] = field(default_factory=dict)  # technique -> min model p for rule-only
    parent_too: bool = False
    drop_bare_only: bool = False  # mapping-table rows alone are not enough (the model must agree)

    def thr(self, tid: str) -> float:
        return self.per_technique.get(tid, self.threshold)


def inner_fold_of(doc: Document, folds: int) -> int:
    """The document's inner fold (a different fixed hash of its name than the outer `fold_of`)."""
    return zlib.crc32(f"inner|{doc.name}".encode()) % folds


# --------------------------------------------------------------------------- models and records


def _code_key() -> str:
    digest = hashlib.sha1()
    for rel in CODE:
        digest.update((REPO / rel).read_bytes())
    return digest.hexdigest()[:10]


def trained_model(
    corpus: Corpus, train: Sequence[Document], catalog: AttackCatalog, cache: Path, tag: str
) -> tuple[str, TechniqueModel]:
    """Fit on `train` (+ general sentences) and export/reload; cached by training documents and code."""
    names = "\n".join(sorted(d.name for d in train))
    key = hashlib.sha1(f"{_code_key()}|{MIN_POSITIVES}|{names}".encode()).hexdigest()[:16]
    path = cache / f"model-{key}.bin.gz"
    if not path.is_file():
        started = time.monotonic()
        fitted = fit(training_examples(corpus, train), catalog, log=False)
        path.write_bytes(export(fitted, catalog))
        print(f"  trained {tag} in {time.monotonic() - started:.0f} s", file=sys.stderr)
    return key, resolved(model_from_bytes(path.read_bytes(), str(path)), catalog)


def record_of(
    doc: Document, corpus: Corpus, model: TechniqueModel, catalog: AttackCatalog, aliases: TechniqueAliases
) -> Record:
    labels = label_set(corpus, doc.dataset)
    rec = Record(doc.name, doc.dataset, frozenset(doc.gold & labels), labels)
    sentences = _sentences(Article(url=None, title="", source=doc.dataset, text=doc.text))
    rules: dict[str, set[str]] = defaultdict(set)
    behaviour: set[str] = set()
    for matches in rule_matches(sentences, catalog, aliases, RULE_LAYERS).values():
        for match in matches:
            rules[match.technique].add(match.layer)
            if not match.bare:
                behaviour.add(match.technique)
    rec.rules = {t: frozenset(v) for t, v in rules.items()}
    rec.bare_only = frozenset(set(rules) - behaviour)
    per: dict[str, list[float]] = defaultdict(list)
    for sentence in sentences:
        text = counting_text(sentence, aliases.context)
        if not text:
            continue
        for label, p in sentence_probabilities(text, model, FLOOR).items():
            tid = model.labels[label]
            if tid in catalog.techniques:
                per[tid].append(p)
    rec.top = {tid: tuple(sorted(ps, reverse=True)[:TOP_K]) for tid, ps in per.items()}
    rec.maxp = {tid: ps[0] for tid, ps in rec.top.items()}
    return rec


def noisy_or(rec: Record, k: int) -> dict[str, float]:
    """Per technique, 1 - prod(1 - p) over its best `k` sentences (the stage's confidence uses k=3)."""
    out = {}
    for tid, ps in rec.top.items():
        doubt = 1.0
        for p in ps[:k]:
            doubt *= 1.0 - p
        out[tid] = 1.0 - doubt
    return out


def records(
    corpus: Corpus,
    docs: Sequence[Document],
    key: str,
    model: TechniqueModel,
    catalog: AttackCatalog,
    aliases: TechniqueAliases,
    cache: Path,
) -> list[Record]:
    path = (
        cache / f"records3-{key}-{hashlib.sha1(''.join(d.name for d in docs).encode()).hexdigest()[:10]}.pkl"
    )
    if path.is_file():
        return pickle.loads(path.read_bytes())
    out = [record_of(d, corpus, model, catalog, aliases) for d in docs]
    path.write_bytes(pickle.dumps(out))
    return out


# --------------------------------------------------------------------------- replaying the decision


def emitted_raw(rec: Record, policy: Policy, catalog: AttackCatalog) -> dict[str, set[str]]:
    """The stage's reported techniques (before the label-set restriction) with the layers behind each."""
    found: dict[str, set[str]] = {}
    for tid, layers in rec.rules.items():
        if policy.drop_bare_only and tid in rec.bare_only:
            continue
        if EXPLICIT not in layers and tid in policy.gate and rec.maxp.get(tid, 0.0) < policy.gate[tid]:
            continue
        found[tid] = set(layers) | ({BARE} if tid in rec.bare_only else set())
    for tid, p in rec.maxp.items():
        if p >= policy.thr(tid):
            found.setdefault(tid, set()).add(MODEL)
    with_children = {p for tid in found if (p := catalog.techniques[tid].parent) is not None}
    reported = {t: v for t, v in found.items() if t not in with_children or EXPLICIT in v}
    if policy.parent_too:
        for tid in list(reported):
            parent = catalog.techniques[tid].parent
            if parent is not None and parent in catalog.techniques:
                reported.setdefault(str(parent), set()).update(reported[tid])
    return reported


def emitted(rec: Record, policy: Policy, catalog: AttackCatalog) -> dict[str, set[str]]:
    """Restricted to the dataset's labels (as `restrict`), each label with the layers that produced it."""
    out: dict[str, set[str]] = {}
    for tid, layers in emitted_raw(rec, policy, catalog).items():
        for label in restrict((tid,), rec.labels, catalog):
            out.setdefault(label, set()).update(layers)
    return out


def scores(
    recs: Iterable[Record], policy: Policy, catalog: AttackCatalog
) -> dict[str, tuple[float, float, float]]:
    """Dataset -> mean document (P, R, F1)."""
    per: dict[str, list[tuple[float, float, float]]] = defaultdict(list)
    for rec in recs:
        per[rec.dataset].append(prf(set(emitted(rec, policy, catalog)), set(rec.gold)))
    return {ds: tuple(sum(v[i] for v in vs) / len(vs) for i in range(3)) for ds, vs in per.items()}  # type: ignore[misc]


# --------------------------------------------------------------------------- error analysis


def _family(tid: str, catalog: AttackCatalog) -> str:
    return str(catalog.techniques[tid].parent or tid) if tid in catalog.techniques else tid


def _primary(layers: set[str]) -> str:
    return next(layer for layer in LAYER_ORDER if layer in layers)


def _bin(p: float) -> str:
    if p >= 0.4:
        return "p 0.40-0.50"
    if p >= 0.3:
        return "p 0.30-0.40"
    if p >= 0.2:
        return "p 0.20-0.30"
    if p >= 0.1:
        return "p 0.10-0.20"
    if p >= 0.05:
        return "p 0.05-0.10"
    return "p 0.01-0.05"


def fn_cause(
    gold: str, rec: Record, out: Mapping[str, set[str]], policy: Policy, catalog: AttackCatalog
) -> str:
    """Why a gold label was not emitted."""
    raw = emitted_raw(rec, policy, catalog)
    # Evidence for the gold label itself or for a technique that `restrict` would turn into it.
    mapped = [t for t in set(rec.maxp) | set(rec.rules) if gold in restrict((t,), rec.labels, catalog)]
    fam = _family(gold, catalog)
    if any(t in rec.rules for t in mapped) or any(rec.maxp.get(t, 0) >= policy.thr(t) for t in mapped):
        return "suppressed (parent of a reported sub)" if not any(t in raw for t in mapped) else "other"
    if any(_family(t, catalog) == fam and t != gold for t in out):
        if catalog.techniques[gold].parent is None:
            return "emitted a sub of the gold parent"
        return "emitted parent/sibling of the gold sub"
    best = max((rec.maxp.get(t, 0.0) for t in mapped), default=0.0)
    return f"below threshold, {_bin(best)}" if best > 0 else "no candidate (no layer, p < 0.01)"


def analyse(recs: Sequence[Record], catalog: AttackCatalog, top: int) -> None:
    policy = Policy()
    for dataset, title in (("tram", "TRAM2"), ("annoctr", "AnnoCTR")):
        rows = [r for r in recs if r.dataset == dataset]
        fn: Counter[str] = Counter()
        fp: Counter[str] = Counter()
        tp: Counter[str] = Counter()
        gold_n: Counter[str] = Counter()
        fp_layer: dict[str, Counter[str]] = defaultdict(Counter)
        fp_by_layer: Counter[str] = Counter()
        tp_by_layer: Counter[str] = Counter()
        causes: Counter[str] = Counter()
        fn_cause_by: dict[str, Counter[str]] = defaultdict(Counter)
        fp_kind: Counter[str] = Counter()
        fn_rank: Counter[str] = Counter()
        bare_tp = bare_fp = 0
        for rec in rows:
            out = emitted(rec, policy, catalog)
            gold_n.update(rec.gold)
            for tid in set(out) & rec.gold:
                tp[tid] += 1
                tp_by_layer[_primary(out[tid])] += 1
            bare_tp += sum(1 for t in set(out) & rec.gold if BARE in out[t] and MODEL not in out[t])
            bare_fp += sum(1 for t in set(out) - rec.gold if BARE in out[t] and MODEL not in out[t])
            for tid in set(out) - rec.gold:
                fp[tid] += 1
                layer = _primary(out[tid])
                fp_layer[tid][layer] += 1
                fp_by_layer[layer] += 1
                fam = _family(tid, catalog)
                fp_kind[
                    "same family as a gold label"
                    if any(_family(g, catalog) == fam for g in rec.gold)
                    else "unrelated to the gold"
                ] += 1
            ranked = sorted(
                (t for t in rec.maxp if restrict((t,), rec.labels, catalog)), key=lambda t: -rec.maxp[t]
            )
            for tid in rec.gold - set(out):
                fn[tid] += 1
                cause = fn_cause(tid, rec, out, policy, catalog)
                causes[cause] += 1
                fn_cause_by[tid][cause.split(",")[0]] += 1
                if tid in rec.maxp:
                    rank = ranked.index(tid) + 1
                    fn_rank[
                        "rank 1-5"
                        if rank <= 5
                        else "rank 6-10"
                        if rank <= 10
                        else "rank 11-20"
                        if rank <= 20
                        else "rank > 20"
                    ] += 1
        n_gold, n_tp, n_fp = sum(gold_n.values()), sum(tp.values()), sum(fp.values())
        print(
            f"\n=== {title}: {len(rows)} held-out documents, {n_gold} gold labels, "
            f"{n_tp} TP, {n_fp} FP, {sum(fn.values())} FN"
        )
        print(f"  TP by layer (strongest layer behind the label): {_fmt(tp_by_layer)}")
        print(f"  FP by layer: {_fmt(fp_by_layer)}")
        print(f"  only mapping-table rows (bare ID/name, model silent) behind: {bare_tp} TP, {bare_fp} FP")
        print(f"  FP kind: {_fmt(fp_kind)}")
        print("  FN cause:")
        for cause, n in sorted(causes.items(), key=lambda x: (-x[1], x[0])):
            print(f"    {n:4d}  {cause}")
        print(
            f"  FN with a model candidate, rank of the gold among the document's candidates: {_fmt(fn_rank)}"
        )
        print("  most frequent FN (technique: FN/gold docs; cause):")
        for tid, n in fn.most_common(top):
            print(
                f"    {tid:10s} {_name(tid, catalog):40.40s} {n:3d}/{gold_n[tid]:<3d} "
                f"{_fmt(fn_cause_by[tid])}"
            )
        print("  most frequent FP (technique: FP, TP; layer):")
        for tid, n in fp.most_common(top):
            print(f"    {tid:10s} {_name(tid, catalog):40.40s} {n:3d}, {tp[tid]:<3d} {_fmt(fp_layer[tid])}")
    _parent_sub(recs, catalog, policy)


def _parent_sub(recs: Sequence[Record], catalog: AttackCatalog, policy: Policy) -> None:
    rows = [r for r in recs if r.dataset == "annoctr"]
    kinds: Counter[str] = Counter()
    for rec in rows:
        for tid in rec.gold:
            t = catalog.techniques[tid]
            has_subs = any(x.parent == tid for x in catalog.techniques.values())
            kinds[
                "sub-technique" if t.parent else "parent with subs" if has_subs else "technique without subs"
            ] += 1
    labels = rows[0].labels if rows else frozenset()
    subs_in_set = sum(1 for t in labels if catalog.techniques[t].parent)
    print("\n=== AnnoCTR parent vs sub-technique")
    print(f"  label set: {len(labels)} techniques, {subs_in_set} of them sub-techniques")
    print(f"  held-out gold labels: {_fmt(kinds)}")
    wrong_sub = sibling = parent_for_sub = exact_sub = 0
    emitted_sub = emitted_sub_fp = 0
    for rec in rows:
        out = set(emitted(rec, policy, catalog))
        for tid in out:
            if catalog.techniques[tid].parent:
                emitted_sub += 1
                emitted_sub_fp += tid not in rec.gold
        for g in rec.gold - out:
            t = catalog.techniques[g]
            if t.parent is None and any(catalog.techniques[o].parent == g for o in out):
                wrong_sub += 1
            elif t.parent is not None:
                if t.parent in out:
                    parent_for_sub += 1
                elif any(catalog.techniques[o].parent == t.parent for o in out):
                    sibling += 1
        exact_sub += sum(1 for g in rec.gold & out if catalog.techniques[g].parent)
    print(f"  emitted sub-techniques (after restriction): {emitted_sub}, of which FP {emitted_sub_fp}")
    print(f"  gold parent missed while one of its subs was emitted: {wrong_sub}")
    print(
        f"  gold sub missed while its parent was emitted: {parent_for_sub}; "
        f"while a sibling sub was: {sibling}"
    )
    print(f"  gold subs hit exactly: {exact_sub}")


def _fmt(counter: Mapping[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(counter.items(), key=lambda x: (-x[1], x[0]))) or "-"


def _name(tid: str, catalog: AttackCatalog) -> str:
    return catalog.techniques[tid].name if tid in catalog.techniques else "?"


# --------------------------------------------------------------------------- tuning (inner docs only)


def aggregated(recs: Sequence[Record], k: int) -> list[Record]:
    """The records with the learned layer's document score = noisy-or of its best k sentences."""
    if k == 1:
        return list(recs)
    return [
        Record(r.name, r.dataset, r.gold, r.labels, r.rules, noisy_or(r, k), r.top, r.bare_only) for r in recs
    ]


def inner_value(recs: Sequence[Record], policy: Policy, catalog: AttackCatalog) -> float:
    """The tuning objective: mean document F1 with each dataset weighted equally."""
    s = scores(recs, policy, catalog)
    return sum(v[2] for v in s.values()) / len(s)


def objective(per_doc: Mapping[int, float], weights: Sequence[float]) -> float:
    return sum(per_doc[i] * weights[i] for i in per_doc)


def tune(
    recs: Sequence[Record],
    catalog: AttackCatalog,
    *,
    per_technique: bool,
    gate: bool,
    min_gain: float = MIN_GAIN,
    passes: int = 2,
    fix_global: bool = False,
    keep_precision: bool = False,
    parent_too: bool = False,
) -> Policy:
    """Parameters that maximise the inner documents' mean F1 (each dataset weighted equally).

    With `keep_precision`, a per-technique change is accepted only when it does not lower the inner
    documents' mean precision (the requirement "precision must not be sacrificed for recall").
    """
    n = Counter(r.dataset for r in recs)
    weights = [0.5 / n[r.dataset] for r in recs]

    def doc_pf(rec: Record, policy: Policy) -> tuple[float, float]:
        p, _, f = prf(set(emitted(rec, policy, catalog)), set(rec.gold))
        return p, f

    # Global threshold first (the control experiment's only parameter).
    best_t, best_v = DOC_THRESHOLD, -1.0
    for t in (DOC_THRESHOLD,) if fix_global else GRID[:-1]:
        trial = Policy(threshold=t, parent_too=parent_too)
        v = sum(doc_pf(r, trial)[1] * w for r, w in zip(recs, weights, strict=True))
        if v > best_v + 1e-12 or (
            abs(v - best_v) <= 1e-12 and abs(t - DOC_THRESHOLD) < abs(best_t - DOC_THRESHOLD)
        ):
            best_t, best_v = t, v
    policy = Policy(threshold=best_t, parent_too=parent_too)
    if not per_technique and not gate:
        return policy
    thr: dict[str, float] = {}
    gates: dict[str, float] = {}
    per_doc = {i: doc_pf(r, policy) for i, r in enumerate(recs)}
    # The documents each technique's parameters can affect: its own or its sub-techniques' evidence.
    touches: dict[str, list[int]] = defaultdict(list)
    for i, rec in enumerate(recs):
        for tid in {t for t, p in rec.maxp.items() if p >= GRID[0]} | set(rec.rules):
            touches[tid].append(i)
    candidates = sorted(touches)
    for _ in range(passes):
        changed = False
        for tid in candidates:
            docs = touches[tid]
            options: list[tuple[float | None, float | None]] = []
            if per_technique:
                options += [(t, None) for t in GRID]
            if gate and any(tid in recs[i].rules and EXPLICIT not in recs[i].rules[tid] for i in docs):
                options += [(None, g) for g in GATES]
            base_f = sum(per_doc[i][1] * weights[i] for i in docs)
            base_p = sum(per_doc[i][0] * weights[i] for i in docs)
            current = (thr.get(tid, best_t), gates.get(tid, 0.0))
            best: tuple[float, tuple[float, float], dict[int, tuple[float, float]]] = (0.0, current, {})
            for t, g in options:
                cand_t = current[0] if t is None else t
                cand_g = current[1] if g is None else g
                if (cand_t, cand_g) == current:
                    continue
                trial = Policy(best_t, {**thr, tid: cand_t}, {**gates, tid: cand_g}, parent_too=parent_too)
                new = {i: doc_pf(recs[i], trial) for i in docs}
                gain = sum(new[i][1] * weights[i] for i in docs) - base_f
                if keep_precision and sum(new[i][0] * weights[i] for i in docs) < base_p - 1e-12:
                    continue
                if gain > best[0] + 1e-12:
                    best = (gain, (cand_t, cand_g), new)
            if best[0] >= min_gain:
                thr[tid], gates[tid] = best[1]
                per_doc.update(best[2])
                changed = True
        if not changed:
            break
    return Policy(
        best_t,
        {t: v for t, v in thr.items() if v != best_t},
        {t: v for t, v in gates.items() if v > 0.0},
        parent_too=parent_too,
    )


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--folds", type=int, default=3)
    parser.add_argument("--inner", type=int, default=3, help="inner folds of each outer training split")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--cache", type=Path, default=Path("/tmp/attack_work/cache"))
    parser.add_argument("--top", type=int, default=15)
    parser.add_argument("--min-gain", type=float, default=MIN_GAIN)
    parser.add_argument("--no-experiments", action="store_true", help="only the error analysis")
    parser.add_argument(
        "--experiments",
        type=lambda v: v.split(","),
        default=EXPERIMENTS,
        help=f"comma-separated nested-CV experiments (default: {','.join(EXPERIMENTS)})",
    )
    parser.add_argument("--check", action="store_true", help="check the replay against infer_techniques")
    args = parser.parse_args(argv)
    args.cache.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    catalog = load_attack_catalog()
    aliases = load_technique_aliases(catalog)
    corpus = load_corpus(args.data)
    outer: list[Record] = []
    policies: dict[str, list[Policy]] = defaultdict(list)
    aggregation: dict[str, list[int]] = defaultdict(list)
    for fold in range(args.folds):
        train = [d for d in corpus.documents if fold_of(d, args.folds) != fold]
        held = [d for d in corpus.documents if fold_of(d, args.folds) == fold]
        key, model = trained_model(corpus, train, catalog, args.cache, f"outer fold {fold + 1}")
        recs = records(corpus, held, key, model, catalog, aliases, args.cache)
        if args.check:
            _check(recs, held, corpus, model, catalog, aliases)
        outer.extend(recs)
        if not args.no_experiments:
            inner: list[Record] = []
            for k in range(args.inner):
                itrain = [d for d in train if inner_fold_of(d, args.inner) != k]
                iheld = [d for d in train if inner_fold_of(d, args.inner) == k]
                ikey, imodel = trained_model(
                    corpus, itrain, catalog, args.cache, f"fold {fold + 1} inner {k + 1}"
                )
                inner.extend(records(corpus, iheld, ikey, imodel, catalog, aliases, args.cache))
            g = args.min_gain
            for name, kw in (
                ("global-thr", dict(per_technique=False, gate=False)),
                ("per-tech-thr", dict(per_technique=True, gate=False, min_gain=g)),
                ("per-tech-thr@0.5", dict(per_technique=True, gate=False, fix_global=True, min_gain=g)),
                (
                    "per-tech-thr@0.5 gain/4",
                    dict(per_technique=True, gate=False, fix_global=True, min_gain=g / 4),
                ),
                ("per-tech+gate", dict(per_technique=True, gate=True, min_gain=g)),
                (
                    "per-tech-thr@0.5 keepP",
                    dict(per_technique=True, gate=False, fix_global=True, min_gain=g, keep_precision=True),
                ),
                (
                    "per-tech-thr@0.5 keepP gain/4",
                    dict(
                        per_technique=True, gate=False, fix_global=True, min_gain=g / 4, keep_precision=True
                    ),
                ),
                (
                    "parent-too + per-tech@0.5",
                    dict(per_technique=True, gate=False, fix_global=True, min_gain=g, parent_too=True),
                ),
                (
                    "parent-too + per-tech@0.5 keepP",
                    dict(
                        per_technique=True,
                        gate=False,
                        fix_global=True,
                        min_gain=g,
                        parent_too=True,
                        keep_precision=True,
                    ),
                ),
            ):
                if name not in args.experiments:
                    continue
                policy = tune(inner, catalog, **kw)  # type: ignore[arg-type]
                policies[name].append(policy)
                aggregation[name].append(1)
            # Document score = noisy-or of the best k sentences; k and the threshold chosen on inner docs.
            for suffix, kw in (("", dict(per_technique=False, gate=False)),):
                if f"noisy-or-k{suffix}" not in args.experiments:
                    continue
                best = None
                for k in (1, 2, 3):
                    policy = tune(aggregated(inner, k), catalog, min_gain=g, **kw)  # type: ignore[arg-type]
                    value = inner_value(aggregated(inner, k), policy, catalog)
                    if best is None or value > best[0] + 1e-12:
                        best = (value, k, policy)
                assert best is not None
                policies[f"noisy-or-k{suffix}"].append(best[2])
                aggregation[f"noisy-or-k{suffix}"].append(best[1])
        print(f"fold {fold + 1}/{args.folds} done ({time.monotonic() - started:.0f} s)", file=sys.stderr)

    analyse(outer, catalog, args.top)
    print("\n=== Experiments: outer held-out documents, SoK document F1 (P / R)")
    print("  (dF1: paired difference to shipped, mean +- standard error over documents)")
    shipped = {r.name: prf(set(emitted(r, Policy(), catalog)), set(r.gold))[2] for r in outer}
    dataset_of = {r.name: r.dataset for r in outer}
    _print_row("shipped (global 0.5)", scores(outer, Policy(), catalog))
    for name, untuned in (
        ("parent-too (untuned)", Policy(parent_too=True)),
        ("drop-bare-only (untuned)", Policy(drop_bare_only=True)),
    ):
        _print_row(name, scores(outer, untuned, catalog))
        _print_delta(
            {r.name: prf(set(emitted(r, untuned, catalog)), set(r.gold))[2] for r in outer},
            shipped,
            dataset_of,
        )
    for name, fold_policies in policies.items():
        recs_by_fold: dict[int, list[Record]] = defaultdict(list)
        names = {d.name: fold_of(d, args.folds) for d in corpus.documents}
        for rec in outer:
            recs_by_fold[names[rec.name]].append(rec)
        per: dict[str, list[tuple[float, float, float]]] = defaultdict(list)
        by_name: dict[str, float] = {}
        for fold, policy in enumerate(fold_policies):
            for rec in aggregated(recs_by_fold[fold], aggregation[name][fold]):
                per[rec.dataset].append(prf(set(emitted(rec, policy, catalog)), set(rec.gold)))
                by_name[rec.name] = per[rec.dataset][-1][2]
        _print_row(
            name, {ds: tuple(sum(v[i] for v in vs) / len(vs) for i in range(3)) for ds, vs in per.items()}
        )  # type: ignore[misc]
        _print_delta(by_name, shipped, dataset_of)
        for fold, policy in enumerate(fold_policies):
            print(
                f"      fold {fold + 1}: global {policy.threshold:.2f}, "
                f"{len(policy.per_technique)} per-technique "
                f"thresholds (median {_median(policy.per_technique.values())}), {len(policy.gate)} gates, "
                f"k {aggregation[name][fold]}"
            )
    print(f"\nrun time {time.monotonic() - started:.0f} s")
    return 0


def _median(values: Iterable[float]) -> str:
    v = sorted(values)
    return f"{v[len(v) // 2]:.2f}" if v else "-"


def _print_delta(new: Mapping[str, float], old: Mapping[str, float], dataset_of: Mapping[str, str]) -> None:
    parts = []
    for ds, title in (("tram", "TRAM2"), ("annoctr", "AnnoCTR")):
        d = [new[n] - old[n] for n in new if dataset_of[n] == ds]
        mean = sum(d) / len(d)
        sd = (sum((x - mean) ** 2 for x in d) / max(len(d) - 1, 1)) ** 0.5
        parts.append(
            f"{title} dF1 {mean:+.3f} +- {sd / len(d) ** 0.5:.3f} "
            f"({sum(x > 0 for x in d)} up, {sum(x < 0 for x in d)} down)"
        )
    print("      " + "   ".join(parts))


def _print_row(name: str, s: Mapping[str, tuple[float, float, float]]) -> None:
    t, a = s.get("tram", (0, 0, 0)), s.get("annoctr", (0, 0, 0))
    print(
        f"  {name:24s} TRAM2 F1 {t[2]:.3f} (P {t[0]:.3f} / R {t[1]:.3f})   "
        f"AnnoCTR F1 {a[2]:.3f} (P {a[0]:.3f} / R {a[1]:.3f})"
    )


def _check(
    recs: Sequence[Record],
    held: Sequence[Document],
    corpus: Corpus,
    model: TechniqueModel,
    catalog: AttackCatalog,
    aliases: TechniqueAliases,
) -> None:
    """The replay must give exactly the stage's own (restricted) output at the shipped settings."""
    bad = 0
    for rec, doc in zip(recs, held, strict=True):
        hits = infer_techniques(
            Article(url=None, title="", source=doc.dataset, text=doc.text), catalog, aliases, model
        )
        if restrict((h.id for h in hits), rec.labels, catalog) != set(emitted(rec, Policy(), catalog)):
            bad += 1
    print(f"  replay check: {len(recs) - bad}/{len(recs)} documents identical", file=sys.stderr)
    if bad:
        raise SystemExit("replay differs from infer_techniques")


if __name__ == "__main__":
    sys.exit(main())
