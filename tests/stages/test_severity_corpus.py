"""Severity and summary on the shared articles, built the way users get them (real stages, real catalogues).

The manifest's `expected_priority` is the judge: LOW_OR_INFO articles (product news, partnerships,
awards, surveys, predictions, how-to, opinion, research) never rise above LOW; at least 90% of
MEDIUM_OR_HIGH threat reports are MEDIUM or above; LOW_OR_MEDIUM never exceeds MEDIUM.
The relevance model saw the non-threat articles' sentences in training: its honest, cross-validated
figures come from `bench/severity_eval.py`.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from huntbrief.catalog.boilerplate import load_boilerplate
from huntbrief.context import load_context
from huntbrief.model import Brief, SeverityLevel, TextOrigin
from huntbrief.pipeline import build_brief
from huntbrief.stages.articles import article_from_text
from huntbrief.stages.text import split_sentences
from tests.conftest import SHARED_DATA


@pytest.fixture(scope="module")
def corpus() -> list[tuple[dict[str, str], Brief]]:
    folder = SHARED_DATA / "articles"
    if not (folder / "manifest.jsonl").is_file():
        pytest.skip(f"shared article corpus not found at {folder}")
    rows = [json.loads(line) for line in (folder / "manifest.jsonl").read_text(encoding="utf-8").splitlines()]
    ctx = load_context(kev_path=folder / "no-user-kev.json")  # the packaged KEV snapshot only
    briefs = []
    for row in rows:
        article = article_from_text(
            (folder / row["file"]).read_text(encoding="utf-8"),
            url=None,
            source=row["publisher"] or "",
            title=row["title"],
            published=None,
            origin=TextOrigin.FILE,
        )
        briefs.append((row, build_brief(article, ctx)))
    return briefs


def test_no_non_threat_article_above_low_and_threat_reports_medium_or_above(
    corpus: list[tuple[dict[str, str], Brief]],
) -> None:
    table: Counter[tuple[str, SeverityLevel]] = Counter()
    for row, brief in corpus:
        table[(row["expected_priority"], brief.severity.level)] += 1
    print("\nexpected_priority x level:", dict(table))
    too_high = [
        (row["file"], brief.severity.level.value, brief.severity.reasons)
        for row, brief in corpus
        if (row["expected_priority"] == "LOW_OR_INFO" and brief.severity.level.rank < SeverityLevel.LOW.rank)
        or (
            row["expected_priority"] == "LOW_OR_MEDIUM"
            and brief.severity.level.rank < SeverityLevel.MEDIUM.rank
        )
    ]
    assert not too_high
    reports = [brief.severity.level for row, brief in corpus if row["expected_priority"] == "MEDIUM_OR_HIGH"]
    assert len(reports) >= 30
    assert sum(level.rank <= SeverityLevel.MEDIUM.rank for level in reports) >= 0.9 * len(reports)


def test_every_brief_has_two_to_five_reasons_and_info_says_why(
    corpus: list[tuple[dict[str, str], Brief]],
) -> None:
    for row, brief in corpus:
        reasons = brief.severity.reasons
        assert 2 <= len(reasons) <= 5, (row["file"], reasons)
        assert all(r.endswith(".") and len(r) < 200 for r in reasons), reasons
        if brief.severity.level is SeverityLevel.INFO:
            assert "no adversary activity" in reasons[0] or "no specific adversary activity" in reasons[0]
            assert re.fullmatch(r"\d+ of \d+ sentences describes? adversary activity\.", reasons[1])


def test_kev_cves_are_named_on_real_reports(corpus: list[tuple[dict[str, str], Brief]]) -> None:
    by_file = {row["file"]: brief for row, brief in corpus}
    moveit = by_file["tram-zero-day-vulnerability-in-moveit-transfer-exploited-for-data.txt"]
    assert "1 CVE, 1 in CISA KEV (CVE-2023-34362)." in moveit.severity.reasons
    assert moveit.severity.level is SeverityLevel.CRITICAL


def test_summaries_are_two_or_three_article_sentences_never_chrome(
    corpus: list[tuple[dict[str, str], Brief]],
) -> None:
    chrome = load_boilerplate()
    for row, brief in corpus:
        sentences = split_sentences(brief.summary)
        if row["bytes"] < 1000:  # the truncated stub has too little text for two sentences
            continue
        assert 2 <= len(sentences) <= 3, (row["file"], brief.summary)
        assert not re.search(r"(?i)cookie|about the author|all rights reserved|subscribe", brief.summary)
        assert not any(chrome.is_chrome_sentence(s) for s in sentences), (row["file"], brief.summary)
        assert not re.match(r"By [A-Z]", brief.summary) and ";T1" not in brief.summary, brief.summary


def test_an_old_report_loses_points_when_the_analysis_time_is_known(shared_data: Path) -> None:
    folder = shared_data / "articles"
    name = "annoctr-zscaler_2021-09-28_squirrelwaffle-new-loader-delivering-cobalt.txt"
    article = article_from_text(
        (folder / name).read_text(encoding="utf-8"), url=None, source="zscaler", title=None,
        published=None, origin=TextOrigin.FILE,
    )  # fmt: skip
    ctx = load_context(kev_path=folder / "no-user-kev.json")
    published = datetime(2021, 9, 28, tzinfo=UTC)
    fresh = build_brief(
        replace(article, published=published), ctx, analysed_at=datetime(2021, 10, 1, tzinfo=UTC)
    )
    old = build_brief(
        replace(article, published=published), ctx, analysed_at=datetime(2024, 10, 1, tzinfo=UTC)
    )
    assert fresh.severity.score > old.severity.score
    assert any("days ago: old activity ranks lower" in r for r in old.severity.reasons)
