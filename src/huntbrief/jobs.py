"""One item's analysis as a picklable job, so it can run in a thread or in a worker process.

`analyse(job, ctx)` is pure: page bytes (or the feed's text) in, a Brief or "unchanged" out.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from huntbrief.errors import ParseError
from huntbrief.model import Article, Brief, FeedItem, FeedSource
from huntbrief.pipeline import AnalysisContext, build_brief
from huntbrief.stages.articles import article_from_feed, extract_article

MIN_PAGE_CHARS = 200  # a page whose extracted text is shorter falls back to the feed's own text
log = logging.getLogger("huntbrief")


@dataclass(frozen=True, slots=True)
class AnalysisJob:
    """Everything needed to analyse one item, with no handle to the network or database."""

    source: FeedSource
    item: FeedItem
    page: bytes | None  # the fetched article page, None when not fetched or failed
    page_error: str | None
    previous: Brief | None
    previous_hash: str | None
    analysed_at: datetime


@dataclass(frozen=True, slots=True)
class AnalysisOutcome:
    """A new brief, or `brief=None` when the article text is unchanged since `previous_hash`."""

    brief: Brief | None
    content_hash: str


def choose_article(job: AnalysisJob) -> Article:
    """The page's text when it has enough of it, else the feed's content or summary."""
    item, has_feed_text = job.item, bool(job.item.content.strip() or job.item.summary.strip())
    if job.page is not None:
        try:
            article = extract_article(
                job.page,
                url=item.url,
                source=job.source.name,
                title=item.title or None,
                published=item.published,
            )
            if len(article.text) >= MIN_PAGE_CHARS or not has_feed_text:
                return article
        except ParseError:
            if not has_feed_text:
                raise
    if not has_feed_text:
        reason = job.page_error or "no link to fetch"
        raise ParseError(
            f"no article text: {reason}, and the feed has no text", location=item.url or item.key
        )
    return article_from_feed(item)


def analyse(job: AnalysisJob, ctx: AnalysisContext) -> AnalysisOutcome:
    """Extract the article, stop if its hash is unchanged, else build the brief."""
    article = choose_article(job)
    digest = article.content_hash
    if job.previous_hash is not None and digest == job.previous_hash:
        return AnalysisOutcome(None, digest)
    brief = build_brief(
        article,
        ctx,
        source_category=job.source.category,
        source_weight=job.source.weight,
        item_key=job.item.key,
        analysed_at=job.analysed_at,
        previous=job.previous,
    )
    return AnalysisOutcome(brief, digest)
