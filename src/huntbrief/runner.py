"""The imperative shell: poll feeds, select items, fetch articles, analyse, save, render, deliver.

Everything that touches the network, disk, clock or database for a run happens here or in
the adapters it is given. One feed's or one item's failure is recorded and the run goes on.
Alerts and MISP pushes are queued with each saved brief and sent at the end of the pass.
Item selection lives in runner_select.py, feed and article reads in runner_fetch.py, and the
analysis threads or processes in runner_pool.py; their public names are re-exported here.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from functools import partial
from typing import Any

from huntbrief.adapters.fetch import Fetcher
from huntbrief.adapters.local import is_local
from huntbrief.adapters.outbox import DeliveryReport, Outbox
from huntbrief.adapters.output import BriefWriter
from huntbrief.adapters.store import Store
from huntbrief.context import load_context
from huntbrief.errors import FetchError, HuntbriefError
from huntbrief.jobs import AnalysisJob, AnalysisOutcome, analyse
from huntbrief.model import FeedParse, FeedSource, ItemFailure
from huntbrief.pipeline import AnalysisContext
from huntbrief.run_report import NullProgress, Progress, RunStats
from huntbrief.runner_fetch import fetch_feed, fetch_page
from huntbrief.runner_pool import WorkerPool
from huntbrief.runner_select import RunPolicy, WorkItem, item_fingerprint, select_work
from huntbrief.stages.feeds import parse_feed
from huntbrief.workers import analyse_in_worker

__all__ = [
    "Progress",
    "RunPolicy",
    "RunStats",
    "Runner",
    "WorkItem",
    "item_fingerprint",
    "load_context",
]  # all but Runner: re-exports

log = logging.getLogger("huntbrief")
_DEFAULT_POLICY = RunPolicy()  # one frozen instance, as a `RunPolicy()` default would be


def utc_now() -> datetime:
    """The real clock (injected into Runner so tests can freeze it)."""
    return datetime.now(UTC)


class Runner:
    """Runs passes over a list of sources with injected fetcher, store, writer and clock.

    `workers=0` analyses in one background thread; `workers>0` uses that many worker processes
    (spawned, each loading the catalogues once) for feed parsing and article analysis.
    """

    def __init__(
        self,
        *,
        fetcher: Fetcher,
        store: Store,
        ctx: AnalysisContext,
        writer: BriefWriter,
        policy: RunPolicy = _DEFAULT_POLICY,
        clock: Callable[[], datetime] = utc_now,
        progress: Progress | None = None,
        workers: int = 0,
        severity_overrides: Mapping[str, Any] | None = None,
        outbox: Outbox | None = None,
        context_options: Mapping[str, Any] | None = None,
    ) -> None:
        self.fetcher = fetcher
        self.outbox = outbox  # alert and MISP targets; None: deliver nothing
        self.store = store
        self.ctx = ctx
        self.writer = writer
        self.policy = policy
        self.clock = clock
        self.progress: Progress = progress or NullProgress()
        self.stop_requested = asyncio.Event()
        self._pool = WorkerPool(workers, severity_overrides or {}, context_options or {})

    def close(self) -> None:
        """Release the analysis threads or processes and the outbox's connections."""
        self._pool.close()
        if self.outbox is not None:
            self.outbox.close()

    async def run_once(self, sources: Sequence[FeedSource]) -> RunStats:
        """One pass: poll every feed, process new or changed items, then refresh the index."""
        stats = RunStats()
        work = await self.poll(sources, stats)
        self.progress.items_total(len(work))
        await asyncio.gather(*(self._process(w, stats) for w in work))
        self._refresh_outputs(stats)
        await self._deliver(stats)
        stats.interrupted = self.stop_requested.is_set()
        self.progress.finished()
        return stats

    async def poll(self, sources: Sequence[FeedSource], stats: RunStats) -> list[WorkItem]:
        """Fetch and parse every feed (conditional GET) and return the items that need work."""
        self.progress.feeds_total(len(sources))
        parsed = await asyncio.gather(*(self._poll(src, stats) for src in sources))
        polled = [(s, p) for s, p in zip(sources, parsed, strict=True) if p is not None]
        return select_work(polled, self.store, self.policy, self.clock(), stats)

    async def _poll(self, source: FeedSource, stats: RunStats) -> FeedParse | None:
        if self.stop_requested.is_set():
            return None
        try:
            parsed = await fetch_feed(
                source,
                fetcher=self.fetcher,
                store=self.store,
                policy=self.policy,
                parse=self._parse,
                clock=self.clock,
            )
        except Exception as exc:  # one feed's failure, whatever it is, must not stop the run
            message = exc.message if isinstance(exc, HuntbriefError) else f"{type(exc).__name__}: {exc}"
            stats.feeds_failed.append((source.name, message))
            log.warning(
                "feed failed %s: %s", source.url, message, exc_info=not isinstance(exc, HuntbriefError)
            )
            if not is_local(source.url):
                failure = ItemFailure(source.name, "feed", message, url=source.url)
                self.store.record_failure(failure, feed_hash=None, now=self.clock())
            self.progress.feed_done(source.name, f"failed: {message}")
            return None
        stats.feeds_polled += 1
        if parsed is None:
            stats.feeds_not_modified += 1
            self.progress.feed_done(source.name, "not modified")
            return None
        stats.feed_problems.extend((source.name, p) for p in parsed.problems)
        self.progress.feed_done(source.name, f"{len(parsed.items)} items")
        return parsed

    async def _parse(
        self, data: bytes, source: FeedSource, headers: dict[str, str] | None, base_url: str
    ) -> FeedParse:
        call = partial(parse_feed, data, source, headers=headers, base_url=base_url)
        return await self._pool.run(call)

    async def _process(self, w: WorkItem, stats: RunStats) -> None:
        if self.stop_requested.is_set():
            return
        stage = "fetch"
        try:
            job = await self._job(w)
            stage = "analyse"
            outcome = await self._analyse(job)
            if outcome.brief is None:
                self.store.mark_checked(w.item.key, feed_hash=w.feed_hash, now=self.clock())
                stats.items_unchanged += 1
                self.progress.item_done(w.item.title, "unchanged")
                return
            stage = "store"
            self.store.save_brief(
                outcome.brief,
                key=w.item.key,
                source=w.source.name,
                url=w.item.url,
                feed_hash=w.feed_hash,
                now=self.clock(),
                deliver_to=self.outbox.wanted(outcome.brief) if self.outbox is not None else (),
            )
            stage = "render"
            self.writer.write(outcome.brief)
        except Exception as exc:  # one item's failure, whatever it is, must not stop the run
            self._fail(w, stage, exc, stats)
            return
        stats.briefs_written += 1
        if w.record is not None and w.record.status == "done":
            stats.items_changed += 1
        else:
            stats.items_new += 1
        self.progress.item_done(w.item.title, outcome.brief.severity.level.value)

    def _fail(self, w: WorkItem, stage: str, exc: Exception, stats: RunStats) -> None:
        message = str(exc) if isinstance(exc, HuntbriefError | OSError) else f"{type(exc).__name__}: {exc}"
        failure = ItemFailure(w.source.name, stage, message, item_key=w.item.key, url=w.item.url)
        if stage != "render":  # a render failure leaves a stored brief; the file is rewritten later
            self.store.record_failure(failure, feed_hash=w.feed_hash, now=self.clock())
        stats.items_failed.append((w.item.title or w.item.key, f"{stage}: {message}"))
        self.progress.item_done(w.item.title, f"failed ({stage})")
        log.warning(
            "item failed (%s) %s: %s",
            stage,
            w.item.url or w.item.key,
            message,
            exc_info=not isinstance(exc, HuntbriefError | OSError),
        )

    async def _job(self, w: WorkItem) -> AnalysisJob:
        page, error = None, None
        if w.source.fetch_articles and w.item.url:
            try:
                page = await fetch_page(w.source, w.item.url, fetcher=self.fetcher, policy=self.policy)
            except FetchError as exc:
                error = exc.message
                log.info("page not fetched for %s: %s", w.item.url, exc)
        previous = self.store.brief(w.item.key) if w.record is not None else None
        prev_hash = w.record.content_hash if w.record is not None and w.record.status == "done" else None
        return AnalysisJob(w.source, w.item, page, error, previous, prev_hash, self.clock())

    async def _analyse(self, job: AnalysisJob) -> AnalysisOutcome:
        if self._pool.workers > 0:
            return await self._pool.run(partial(analyse_in_worker, job))
        return await self._pool.run(partial(analyse, job, self.ctx))

    async def _deliver(self, stats: RunStats) -> None:
        """Send the outbox's pending deliveries (this pass's briefs and earlier failures), in a thread."""
        if self.outbox is None:
            return
        report = DeliveryReport()
        stats.deliveries = report
        if self.stop_requested.is_set():
            return  # left pending: the next run sends them
        try:
            stats.deliveries = await asyncio.to_thread(
                self.outbox.deliver_pending, now=self.clock, stop=self.stop_requested.is_set
            )
        except (HuntbriefError, OSError) as exc:
            report.failed.append(("outbox", str(exc)))
            log.error("deliveries stopped (retried next run): %s", exc)

    def _refresh_outputs(self, stats: RunStats) -> None:
        """Rewrite the index and any brief file missing on disk (e.g. after a crash mid-render)."""
        try:
            self.writer.remove_orphans()
            briefs = self.store.briefs()
            for brief in briefs:
                if self.writer.missing(brief):
                    self.writer.write(brief)
            self.writer.write_index(briefs)
        except (HuntbriefError, OSError) as exc:
            stats.items_failed.append(("index", f"render: {exc}"))
            log.error("could not write the index: %s", exc)
