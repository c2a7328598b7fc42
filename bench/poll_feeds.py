"""Polling benchmark: 500 feeds x 50 items from a local server, then a second all-304 run.

    python bench/poll_feeds.py [--feeds 500] [--items 50] [--hosts 25]

Prints wall time, feeds/s and peak memory (RSS of this process and its worker processes,
sampled every 20 ms, as RSS and PSS sums) for: run 1 (fetch + parse + select every item), run 2 (every feed
answers 304 Not Modified: a full `run_once`), and, for scale, the analysis of a sample of
articles. Targets (issue 2): run 1 under 15 s and 300 MB on 2 cores; run 2 under 3 s.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

from huntbrief.adapters.fetch import FetchPolicy, HttpxFetcher
from huntbrief.adapters.output import BriefWriter
from huntbrief.adapters.render import get_renderers
from huntbrief.adapters.store import open_store
from huntbrief.context import load_context
from huntbrief.model import FeedSource
from huntbrief.pipeline import build_brief
from huntbrief.runner import Runner, RunStats
from huntbrief.stages.articles import extract_article

PORT = 18931


class PeakMemory:
    """Samples, every 20 ms until stopped, the memory of this process and its children (not `exclude`,
    the feed server): the sum of RSS (counts shared library pages once per process) and the sum of
    PSS (shares them out: the machine's real cost)."""

    def __init__(self, exclude: int) -> None:
        self.exclude = exclude
        self.rss = 0
        self.pss = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _loop(self) -> None:
        me = psutil.Process()
        while not self._stop.is_set():
            procs = [me, *(c for c in me.children(recursive=True) if c.pid != self.exclude)]
            rss = pss = 0
            for proc in procs:
                with contextlib.suppress(psutil.Error):
                    info = proc.memory_full_info()
                    rss, pss = rss + info.rss, pss + info.pss
            self.rss, self.pss = max(self.rss, rss), max(self.pss, pss)
            time.sleep(0.02)

    def __str__(self) -> str:
        return f"peak memory {self.rss / 2**20:.0f} MB RSS, {self.pss / 2**20:.0f} MB PSS"


def make_runner(tmp: Path, workers: int) -> Runner:
    fetcher = HttpxFetcher(FetchPolicy(allow_private_networks=True, max_concurrency=32, per_host=4))
    return Runner(
        fetcher=fetcher,
        store=open_store(tmp / "bench.db"),
        ctx=load_context(),
        writer=BriefWriter(tmp / "out", get_renderers(("markdown", "json"))),
        workers=workers,
    )


async def poll_only(runner: Runner, sources: list[FeedSource]) -> tuple[RunStats, int]:
    stats = RunStats()
    try:
        work = await runner.poll(sources, stats)
    finally:
        await runner.fetcher.aclose()
    return stats, len(work)


async def full_run(runner: Runner, sources: list[FeedSource]) -> RunStats:
    try:
        return await runner.run_once(sources)
    finally:
        await runner.fetcher.aclose()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--feeds", type=int, default=500)
    ap.add_argument("--items", type=int, default=50)
    ap.add_argument("--hosts", type=int, default=25)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    server = subprocess.Popen(
        [
            sys.executable,
            str(Path(__file__).with_name("feedserver.py")),
            str(args.feeds),
            str(args.items),
            str(args.hosts),
            str(PORT),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None and server.stdout.readline().strip() == "ready"
        sources = [
            FeedSource(f"feed {n}", f"http://127.0.0.{2 + n % args.hosts}:{PORT}/feed/{n}.xml")
            for n in range(args.feeds)
        ]
        with tempfile.TemporaryDirectory() as tmp_name:
            tmp = Path(tmp_name)
            runner = make_runner(tmp, args.workers)
            with PeakMemory(server.pid) as mem:
                t0 = time.perf_counter()
                stats, selected = asyncio.run(poll_only(runner, sources))
                first = time.perf_counter() - t0
            runner.close()
            print(
                f"run 1 (poll {args.feeds} feeds x {args.items} items, {args.workers} parse workers): "
                f"{first:.2f} s, {args.feeds / first:.0f} feeds/s, {selected} items selected, "
                f"{len(stats.feeds_failed)} failed, {mem}"
            )
            runner = make_runner(tmp, args.workers)
            with PeakMemory(server.pid) as mem:
                t0 = time.perf_counter()
                stats2 = asyncio.run(full_run(runner, sources))
                second = time.perf_counter() - t0
            runner.close()
            print(
                f"run 2 (all 304, full run_once): {second:.2f} s, {stats2.feeds_not_modified} not modified, "
                f"{stats2.briefs_written} briefs, {mem}"
            )
        analysis_rate()
    finally:
        server.terminate()
        server.wait()


def analysis_rate() -> None:
    """For scale: extraction + full analysis of the bundled example articles, one core."""
    pages = sorted((Path(__file__).resolve().parents[1] / "examples/feeds/articles").glob("*.html"))
    ctx = load_context()
    data = [p.read_bytes() for p in pages]
    t0 = time.perf_counter()
    rounds = 5
    for _ in range(rounds):
        for raw, page in zip(data, pages, strict=True):
            build_brief(extract_article(raw, url=None, source="bench", title=page.stem), ctx)
    per = (time.perf_counter() - t0) / (rounds * len(pages))
    size = sum(len(d) for d in data) / len(data) / 1024
    print(
        f"analysis (extract + brief) of the example articles: {per * 1000:.0f} ms per article "
        f"(mean page {size:.0f} KB), {1 / per:.1f} articles/s on one core"
    )


if __name__ == "__main__":
    main()
