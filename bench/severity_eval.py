#!/usr/bin/env python3
"""Severity on the shared articles: the confusion table (kind × level) and the relevance model's CV figures.

Usage: python bench/severity_eval.py [--data ../shared/data] [--quick]

1. The shipped pipeline (real article, IOC, ATT&CK, relevance and severity stages; packaged KEV snapshot)
   on every manifest article: kind × level, and the two acceptance figures.
2. Cross-validation by document (5 folds; scripts/train_relevance.py): each article is scored by a
   relevance model that never saw it or any sentence of it. Prints the out-of-fold relevance shares'
   separation, and the same confusion table with out-of-fold models (the honest severity figure).
   --quick skips this part (it trains five models, about a minute).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import replace
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "src"), str(REPO / "scripts")]

import train_relevance as tr  # noqa: E402

from huntbrief.context import load_context  # noqa: E402
from huntbrief.model import Article, SeverityLevel, TextOrigin  # noqa: E402
from huntbrief.pipeline import AnalysisContext, build_brief  # noqa: E402
from huntbrief.stages.articles import article_from_text  # noqa: E402
from huntbrief.stages.relevance import relevance_of, scored_sentences  # noqa: E402

LEVELS = [level.value for level in SeverityLevel]


def manifest(folder: Path) -> list[tuple[dict[str, object], Article]]:
    """Each manifest row with its Article, built by the real articles stage."""
    rows = [json.loads(line) for line in (folder / "manifest.jsonl").read_text(encoding="utf-8").splitlines()]
    return [
        (
            row,
            article_from_text(
                (folder / str(row["file"])).read_text(encoding="utf-8"),
                url=None,
                source=str(row["publisher"] or ""),
                title=str(row["title"]),
                published=None,
                origin=TextOrigin.FILE,
            ),
        )
        for row in rows
    ]


def table(results: Iterable[tuple[dict[str, object], str]], heading: str) -> None:
    """Print kind × level counts, then the acceptance figures."""
    counts: Counter[tuple[str, str]] = Counter()
    by_expected: dict[str, list[str]] = {}
    for row, level in results:
        counts[(str(row["kind"]), level)] += 1
        by_expected.setdefault(str(row["expected_priority"]), []).append(level)
    print(f"\n{heading}\n{'kind':42}" + "".join(f"{lv:>9}" for lv in LEVELS))
    for kind in sorted({k for k, _ in counts}):
        print(f"{kind:42}" + "".join(f"{counts[(kind, lv)]:>9}" for lv in LEVELS))
    low = by_expected.get("LOW_OR_INFO", [])
    reports = by_expected.get("MEDIUM_OR_HIGH", [])
    above = sum(lv in ("CRITICAL", "HIGH", "MEDIUM") for lv in low)
    medium_up = sum(lv in ("CRITICAL", "HIGH", "MEDIUM") for lv in reports)
    print(f"non-threat (LOW_OR_INFO) above LOW: {above} of {len(low)}")
    print(
        f"threat reports MEDIUM or above: {medium_up} of {len(reports)} "
        f"({medium_up / max(1, len(reports)):.1%})"
    )


def shipped(articles: Sequence[tuple[dict[str, object], Article]], ctx: AnalysisContext) -> None:
    """Part 1: the pipeline as users get it."""
    results = [(row, build_brief(article, ctx).severity.level.value) for row, article in articles]
    table(results, "1. Shipped pipeline: kind x level")


def auc(positives: Sequence[float], negatives: Sequence[float]) -> float:
    """Probability that a random positive outscores a random negative (ties count half)."""
    pairs = [(p > n) + 0.5 * (p == n) for p in positives for n in negatives]
    return sum(pairs) / max(1, len(pairs))


def cross_validated(
    data: Path, articles: Sequence[tuple[dict[str, object], Article]], ctx: AnalysisContext
) -> None:
    """Part 2: relevance shares and severity levels from models that never saw the document."""
    manifest_docs, docs = tr.all_documents(data)
    examples = tr.load_examples(data, manifest_docs)
    by_file = {str(row["file"]): (row, article) for row, article in articles}
    shares: dict[str, float] = {}
    levels: list[tuple[dict[str, object], str]] = []
    for fold in range(tr.FOLDS):
        held = {d.key for d in docs if tr.fold_of(d.key) == fold}
        model = tr.as_model(*tr.train([e for e in examples if e.doc not in held]))
        fold_ctx = replace(ctx, relevance=model)
        for doc in docs:
            if doc.key not in held:
                continue
            shares[doc.name] = relevance_of(scored_sentences(doc.text), model).share
            if doc.name in by_file:
                row, article = by_file[doc.name]
                levels.append((row, build_brief(article, fold_ctx).severity.level.value))
        print(f"  fold {fold + 1}/{tr.FOLDS} done", file=sys.stderr)
    report_figures(docs, shares, ctx)
    table(levels, "3. Cross-validated pipeline (relevance model never saw the article): kind x level")


def report_figures(docs: Sequence[tr.Document], shares: dict[str, float], ctx: AnalysisContext) -> None:
    """The relevance model's out-of-fold separation at the gate's thresholds."""
    gate = ctx.severity.gate
    groups = {
        "manifest threat reports": [
            shares[d.name] for d in docs if d.origin == "manifest" and d.threat is True
        ],
        "manifest non-threat": [shares[d.name] for d in docs if d.origin == "manifest" and d.threat is False],
        "attack-train reports": [shares[d.name] for d in docs if d.origin != "manifest"],
    }
    print(f"\n2. Relevance model, {tr.FOLDS}-fold cross-validation by document (share of activity sentences)")
    print(
        f"{'documents':26}{'n':>5}{'median':>9}{'< low':>8}{'>= high':>9}"
        f"   (low={gate.relevance_low:g}, high={gate.relevance_high:g})"
    )
    for name, values in groups.items():
        ordered = sorted(values)
        median = ordered[len(ordered) // 2] if ordered else 0.0
        below = sum(v < gate.relevance_low for v in values)
        above = sum(v >= gate.relevance_high for v in values)
        print(f"{name:26}{len(values):>5}{median:>9.3f}{below:>8}{above:>9}")
    threat = groups["manifest threat reports"] + groups["attack-train reports"]
    print(
        "AUC threat vs non-threat (all reports vs manifest non-threat): "
        f"{auc(threat, groups['manifest non-threat']):.3f}"
    )
    print(f"AUC manifest only: {auc(groups['manifest threat reports'], groups['manifest non-threat']):.3f}")


def main(argv: list[str] | None = None) -> int:
    """Print the tables; returns the exit status."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=tr.DEFAULT_DATA, help="the shared data folder")
    parser.add_argument("--quick", action="store_true", help="only the shipped pipeline's table")
    args = parser.parse_args(argv)
    articles = manifest(args.data / "articles")
    ctx = load_context(kev_path=args.data / "no-user-kev.json")
    shipped(articles, ctx)
    if not args.quick:
        cross_validated(args.data, articles, ctx)
    return 0


if __name__ == "__main__":
    sys.exit(main())
