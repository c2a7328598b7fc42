"""Where a pass's blocking work runs: one background thread, or spawned worker processes.

The executor starts on first use. Worker processes are spawned (never forked) and each loads
the catalogues once (`init_worker`). A worker process that dies fails only the calls it was
running, as a HuntbriefError; the next call starts a fresh pool.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from multiprocessing import get_context
from typing import Any, TypeVar

from huntbrief.errors import HuntbriefError
from huntbrief.workers import init_worker

_T = TypeVar("_T")


class WorkerPool:
    """Runs calls off the event loop: `workers=0` in one thread, `workers>0` in that many processes."""

    def __init__(
        self, workers: int, severity_overrides: Mapping[str, Any], context_options: Mapping[str, Any]
    ) -> None:
        self.workers = workers
        self._overrides = dict(severity_overrides)
        self._context_options = dict(context_options)  # load_context options for worker processes
        self._pool: Executor | None = None

    def close(self) -> None:
        """Shut the threads or processes down, cancelling calls not started yet."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def _executor(self) -> Executor:
        if self._pool is None:
            if self.workers > 0:
                self._pool = ProcessPoolExecutor(
                    self.workers,
                    mp_context=get_context("spawn"),
                    initializer=init_worker,
                    initargs=(self._overrides, self._context_options),
                )
            else:
                self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="huntbrief-analyse")
        return self._pool

    async def run(self, call: Callable[[], _T]) -> _T:
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
