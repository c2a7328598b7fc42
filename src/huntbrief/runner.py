"""The imperative shell: poll feeds, select items, fetch articles, analyse, save, render, deliver.

Everything that touches the network, disk, clock or database for a run happens here or in
the adapters it is given. One feed's or one item's failure is recorded and the run goes on.
Alerts and MISP pushes are queued with each saved brief and sent at the end of the pass.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from multiprocessing import get_context
from typing import Any, TypeVar

from huntbrief.adapters.fetch import Fetcher
from huntbrief.adapters.local import is_local, local_path, read_capped
from huntbrief.adapters.outbox import DeliveryReport, Outbox
from huntbrief.adapters.output import BriefWriter
from huntbrief.adapters.store import ItemRecord, Store
from huntbrief.context import load_context
from huntbrief.errors import FetchError, HuntbriefError
from huntbrief.jobs import AnalysisJob, AnalysisOutcome, analyse
from huntbrief.model import FeedItem, FeedParse, FeedSource, FeedState, ItemFailure
from huntbrief.pipeline import AnalysisContext
from huntbrief.run_report import NullProgress, Progress, RunStats
from huntbrief.stages.feeds import filter_items, parse_feed
from huntbrief.workers import analyse_in_worker, init_worker

__all__ = [
    "Progress",
    "RunPolicy",
    "RunStats",
    "Runner",
    "WorkItem",
    "load_context",
]  # load_context: re-export

log = logging.getLogger("huntbrief")
_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class RunPolicy:
    """When items are re-checked and how often failures are retried."""

    max_attempts: int = 5
    recheck_after: timedelta = timedelta(hours=6)
    recheck_window: timedelta = timedelta(days=14)
    max_local_bytes: int = 10 * 1024 * 1024
    allow_local_articles: bool = True  # only for items of local feed files, inside their folder


@dataclass(frozen=True, slots=True)
class WorkItem:
    """An item selected for work, with its stored record and feed fingerprint."""

    source: FeedSource
    item: FeedItem
    record: ItemRecord | None
    feed_hash: str


def utc_now() -> datetime:
    """The real clock (injected into Runner so tests can freeze it)."""
    return datetime.now(UTC)


def item_fingerprint(item: FeedItem) -> str:
    """Hash of what the feed says about an item: a change hints the article changed."""
    blob = "\x1f".join((item.title, item.url or "", item.summary, item.content))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


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
        policy: RunPolicy = RunPolicy(),
        clock: Callable[[], datetime] = utc_now,
        progress: Progress | None = None,
        workers: int = 0,
        severity_overrides: Mapping[str, Any] | None = None,
        outbox: Outbox | None = None,
        context_options: Mapping[str, Any] | None = None,
    ) -> None:
        self.fetcher = fetcher
        self.outbox = outbox  # alert and MISP targets; None: deliver nothing
        self._context_options = dict(context_options or {})  # load_context options for worker processes
        self.store = store
        self.ctx = ctx
        self.writer = writer
        self.policy = policy
        self.clock = clock
        self.progress: Progress = progress or NullProgress()
        self.stop_requested = asyncio.Event()
        self._workers = workers
        self._overrides = dict(severity_overrides or {})
        self._pool: Executor | None = None

    def close(self) -> None:
        """Release the analysis threads or processes and the outbox's connections."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
        if self.outbox is not None:
            self.outbox.close()

    def _executor(self) -> Executor:
        if self._pool is None:
            if self._workers > 0:
                self._pool = ProcessPoolExecutor(
                    self._workers,
                    mp_context=get_context("spawn"),
                    initializer=init_worker,
                    initargs=(self._overrides, self._context_options),
                )
            else:
                self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="huntbrief-analyse")
        return self._pool

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
        return self._select([(s, p) for s, p in zip(sources, parsed, strict=True) if p is not None], stats)

    async def _poll(self, source: FeedSource, stats: RunStats) -> FeedParse | None:
        if self.stop_requested.is_set():
            return None
        try:
            parsed = await self._fetch_feed(source)
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
        return await self._in_pool(call)

    async def _in_pool(self, call: Callable[[], _T]) -> _T:
        """Run `call` on the executor; a dead worker process becomes a HuntbriefError for this item."""
        loop = asyncio.get_running_loop()
        pool = self._executor()
        try:
            return await loop.run_in_executor(pool, call)
        except BrokenProcessPool as exc:
            if self._pool is pool:
                self._pool = None  # the next call starts a fresh pool
                pool.shutdown(wait=False, cancel_futures=True)
            raise HuntbriefError("a worker process died (out of memory or killed); retried next run") from exc

    async def _fetch_feed(self, source: FeedSource) -> FeedParse | None:
        if is_local(source.url):
            path = local_path(source.url)
            data = read_capped(path, self.policy.max_local_bytes, source.url)
            return await self._parse(data, source, None, path.resolve().as_uri())
        state = self.store.feed_state(source.url)
        result = await self.fetcher.fetch(
            source.url,
            etag=state.etag if state else None,
            last_modified=state.last_modified if state else None,
        )
        if result.not_modified:
            return None
        if result.status >= 400:
            raise FetchError(f"HTTP {result.status}", location=source.url)
        headers = {k.lower(): v for k, v in result.headers}
        parsed = await self._parse(result.content, source, headers, source.url)
        self.store.save_feed_state(
            FeedState(source.url, result.header("etag"), result.header("last-modified")), now=self.clock()
        )
        return parsed

    def _select(self, polled: list[tuple[FeedSource, FeedParse]], stats: RunStats) -> list[WorkItem]:
        now = self.clock()
        work: list[WorkItem] = []
        for source, parsed in polled:
            kept, dropped = filter_items(parsed.items, source)
            stats.items_filtered += dropped
            records = self.store.items([i.key for i in kept])
            for item in kept:
                entry = WorkItem(source, item, records.get(item.key), item_fingerprint(item))
                if self._wanted(entry, now, stats):
                    work.append(entry)
        return work

    def _wanted(self, w: WorkItem, now: datetime, stats: RunStats) -> bool:
        rec = w.record
        if rec is None:
            return True
        if rec.status != "done":
            if rec.attempts >= self.policy.max_attempts:
                stats.items_gave_up += 1
                return False
            return True
        if rec.feed_hash != w.feed_hash:
            return True
        fresh = now - rec.first_seen <= self.policy.recheck_window
        due = now - rec.checked_at >= self.policy.recheck_after
        if fresh and due:
            return True
        stats.items_seen += 1
        return False

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
                page = await self._fetch_page(w.source, w.item.url)
            except FetchError as exc:
                error = exc.message
                log.info("page not fetched for %s: %s", w.item.url, exc)
        previous = self.store.brief(w.item.key) if w.record is not None else None
        prev_hash = w.record.content_hash if w.record is not None and w.record.status == "done" else None
        return AnalysisJob(w.source, w.item, page, error, previous, prev_hash, self.clock())

    async def _analyse(self, job: AnalysisJob) -> AnalysisOutcome:
        if self._workers > 0:
            return await self._in_pool(partial(analyse_in_worker, job))
        return await self._in_pool(partial(analyse, job, self.ctx))

    async def _fetch_page(self, source: FeedSource, url: str) -> bytes:
        if not is_local(url):
            result = await self.fetcher.fetch(url)
            if result.status >= 400:
                raise FetchError(f"HTTP {result.status}", location=url)
            return result.content
        if not (self.policy.allow_local_articles and is_local(source.url)):
            raise FetchError("a remote feed may not point at a local file", location=url)
        path = local_path(url).resolve()
        root = local_path(source.url).resolve().parent
        if not path.is_relative_to(root):
            raise FetchError("a local feed may only point at files in its own folder", location=url)
        return read_capped(path, self.policy.max_local_bytes, url)

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
