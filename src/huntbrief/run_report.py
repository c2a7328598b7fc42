"""What a run reports: the summary counters and the progress events the CLI displays."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol


class DeliverySummary(Protocol):
    """What the outbox reports about a pass's alert and MISP deliveries."""

    def summary(self) -> str:
        """`deliveries: N sent, M failed[, K deferred]`."""
        ...


@dataclass
class RunStats:
    """What one pass did; printed as the final summary line."""

    feeds_polled: int = 0
    feeds_not_modified: int = 0
    feeds_failed: list[tuple[str, str]] = field(default_factory=list)
    feed_problems: list[tuple[str, str]] = field(default_factory=list)
    items_new: int = 0
    items_changed: int = 0
    items_unchanged: int = 0
    items_seen: int = 0
    items_filtered: int = 0
    items_failed: list[tuple[str, str]] = field(default_factory=list)
    items_gave_up: int = 0
    briefs_written: int = 0
    interrupted: bool = False
    deliveries: DeliverySummary | None = None  # None when no alert or MISP target is configured

    def summary_line(self) -> str:
        """One line a person can read at a glance (with the deliveries when there are targets)."""
        return (
            f"feeds: {self.feeds_polled} polled, {self.feeds_not_modified} not modified, "
            f"{len(self.feeds_failed)} failed; items: {self.items_new} new, {self.items_changed} changed, "
            f"{self.items_unchanged} unchanged, {self.items_seen} already seen, "
            f"{len(self.items_failed)} failed; briefs written: {self.briefs_written}"
            + (f"; {self.deliveries.summary()}" if self.deliveries is not None else "")
            + (" (interrupted)" if self.interrupted else "")
        )


class Progress(Protocol):
    """Receives progress events; the CLI shows them with Rich or as log lines."""

    def feeds_total(self, count: int) -> None: ...
    def feed_done(self, name: str, outcome: str) -> None: ...
    def items_total(self, count: int) -> None: ...
    def item_done(self, title: str, outcome: str) -> None: ...
    def finished(self) -> None: ...


class NullProgress:
    """Progress that shows nothing."""

    def feeds_total(self, count: int) -> None:
        """Ignore."""

    def feed_done(self, name: str, outcome: str) -> None:
        """Ignore."""

    def items_total(self, count: int) -> None:
        """Ignore."""

    def item_done(self, title: str, outcome: str) -> None:
        """Ignore."""

    def finished(self) -> None:
        """Ignore."""
