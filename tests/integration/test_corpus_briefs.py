"""Every brief huntbrief makes of the real articles in ../shared/data/articles carries only valid queries.

The whole pipeline runs on each article (packaged use cases and IOC sweeps, the default backends
plus every other one); each emitted KQL query goes through Microsoft's Kusto language service and
RE2, each SPL query through our linter, each ES|QL query through its balance check. Skipped with a
reason when the shared data is absent.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from huntbrief.adapters.query_check import QueryToCheck, check_queries
from huntbrief.adapters.siem import BACKENDS
from huntbrief.context import load_context
from huntbrief.model import Article, Brief
from huntbrief.pipeline import build_brief
from tests.adapters.query_validation import require_kql_checker
from tests.conftest import SHARED_DATA


@pytest.fixture(scope="module")
def briefs() -> list[tuple[dict[str, object], Brief]]:
    """(manifest row, brief) for every article of the corpus, analysed once for this module."""
    shared_data = SHARED_DATA
    if not (shared_data / "articles" / "manifest.jsonl").is_file():
        pytest.skip(
            f"shared article corpus not found at {shared_data} (only present in the project workspace)"
        )
    ctx = load_context(backends=tuple(BACKENDS))
    rows = [json.loads(line) for line in (shared_data / "articles" / "manifest.jsonl").open(encoding="utf-8")]
    out = []
    for row in rows:
        text = (shared_data / "articles" / str(row["file"])).read_text(encoding="utf-8")
        article = Article(url=None, title=str(row["title"]), source=str(row["publisher"]), text=text)
        out.append((row, build_brief(article, ctx, analysed_at=datetime(2026, 12, 1, tzinfo=UTC))))
    return out


@pytest.mark.timeout(600)  # 50 real articles through the pipeline with every backend, then the checkers
def test_every_query_in_every_corpus_brief_validates(briefs: list[tuple[dict[str, object], Brief]]) -> None:
    checker = require_kql_checker()
    queries = [
        QueryToCheck(f"{row['id']}/{hunt.id}/{i}/{q.backend}", q.backend, q.text)
        for row, brief in briefs
        for hunt in brief.hunts
        for i, q in enumerate(hunt.queries)
    ]
    backends = {q.backend for q in queries}
    assert backends == set(BACKENDS), f"some backend emitted nothing: {sorted(set(BACKENDS) - backends)}"
    assert len(queries) > 500
    problems = check_queries(queries, checker)
    assert not problems, list(problems.items())[:5]


@pytest.mark.timeout(600)
def test_articles_that_are_not_threat_reports_get_no_hunts(
    briefs: list[tuple[dict[str, object], Brief]],
) -> None:
    for row, brief in briefs:
        if row["expected_priority"] == "LOW_OR_INFO":
            assert not [h for h in brief.hunts if h.kind == "usecase"], (
                row["id"],
                [h.id for h in brief.hunts],
            )
