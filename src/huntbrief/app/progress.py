"""Progress display: a Rich progress bar on a terminal, plain log lines otherwise."""

from __future__ import annotations

import logging

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from huntbrief.run_report import NullProgress
from huntbrief.run_report import Progress as ProgressSink

log = logging.getLogger("huntbrief")


class RichProgress:
    """Two bars (feeds, items) on the terminal; stops itself when both are complete."""

    def __init__(self, console: Console) -> None:
        self._bar = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        )
        self._feeds: TaskID | None = None
        self._items: TaskID | None = None

    def feeds_total(self, count: int) -> None:
        """Start the feeds bar."""
        self._bar.start()
        self._feeds = self._bar.add_task("feeds", total=count)

    def feed_done(self, name: str, outcome: str) -> None:
        """Advance the feeds bar."""
        if self._feeds is not None:
            self._bar.advance(self._feeds)

    def items_total(self, count: int) -> None:
        """Start the items bar."""
        self._items = self._bar.add_task("articles", total=count)
        if count == 0:
            self._bar.stop()

    def item_done(self, title: str, outcome: str) -> None:
        """Advance the items bar; stop when done."""
        if self._items is None:
            return
        self._bar.advance(self._items)
        task = self._bar.tasks[self._items]
        if task.total is not None and task.completed >= task.total:
            self._bar.stop()

    def finished(self) -> None:
        """Remove the bars."""
        self._bar.stop()


class LogProgress:
    """Quiet, plain progress for cron and pipes: one INFO log line per feed and item."""

    def feeds_total(self, count: int) -> None:
        """Log the feed count."""
        log.info("polling %d feeds", count)

    def feed_done(self, name: str, outcome: str) -> None:
        """Log one feed's outcome."""
        log.info("feed %s: %s", name, outcome)

    def items_total(self, count: int) -> None:
        """Log the item count."""
        log.info("%d articles to analyse", count)

    def item_done(self, title: str, outcome: str) -> None:
        """Log one item's outcome."""
        log.info("article %s: %s", title, outcome)

    def finished(self) -> None:
        """Nothing to clean up."""


def make_progress(console: Console, *, enabled: bool) -> ProgressSink:
    """Rich bars on a terminal, log lines when not a TTY, nothing when disabled."""
    if not enabled:
        return NullProgress()
    return RichProgress(console) if console.is_terminal else LogProgress()
