"""Worker-process entry points. Kept tiny so a worker that only parses feeds imports little.

The analysis catalogues (and trafilatura) are imported and loaded on a worker's first analysis job.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from huntbrief.jobs import AnalysisJob, AnalysisOutcome
    from huntbrief.pipeline import AnalysisContext


class _WorkerState:
    """Per-process state of a worker: the severity overrides, and the context once loaded."""

    overrides: Mapping[str, Any] | None = None
    options: Mapping[str, Any] = {}
    ctx: AnalysisContext | None = None


def init_worker(
    severity_overrides: Mapping[str, Any] | None, options: Mapping[str, Any] | None = None
) -> None:
    """Process-pool initializer: remember the overrides and the other `load_context` options
    (backends, Sigma rule folder); nothing heavy is imported yet."""
    _WorkerState.overrides = severity_overrides
    _WorkerState.options = dict(options or {})


def analyse_in_worker(job: AnalysisJob) -> AnalysisOutcome:
    """Analyse one job in this worker, loading the catalogues on the first call."""
    from huntbrief.context import load_context
    from huntbrief.jobs import analyse

    if _WorkerState.ctx is None:
        _WorkerState.ctx = load_context(severity_overrides=_WorkerState.overrides, **_WorkerState.options)
    return analyse(job, _WorkerState.ctx)
