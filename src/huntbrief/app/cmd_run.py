"""`huntbrief run`: poll feeds, write briefs, send alerts; the runner is built from settings here."""

from __future__ import annotations

import os
import random
import signal
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from platformdirs import user_data_dir

from huntbrief.app.console import die, err
from huntbrief.app.options import (
    AnalysisOptions,
    BackendsOpt,
    SigmaOpt,
    TlpOpt,
    parse_backend_option,
    tlp_level,
)
from huntbrief.errors import HuntbriefError

if TYPE_CHECKING:  # the heavy modules (pydantic, SQLAlchemy, httpx) load only when `run` runs
    from huntbrief.config import Settings
    from huntbrief.model import FeedSource
    from huntbrief.runner import Runner, RunStats


def default_db() -> Path:
    """The per-user default state database."""
    return Path(user_data_dir("huntbrief", appauthor=False)) / "huntbrief.db"


def run(
    sources: Annotated[
        list[str] | None,
        typer.Argument(
            help="Feed URLs, feed files, OPML files or a huntbrief.toml. Default: ./huntbrief.toml, "
            "else the built-in list of security feeds.",
            show_default=False,
        ),
    ] = None,
    db: Annotated[str | None, typer.Option(help="State database: a file path or SQLAlchemy URL.")] = None,
    out: Annotated[Path | None, typer.Option(help="Folder for the briefs. [default: ./briefs]")] = None,
    formats: Annotated[
        str | None,
        typer.Option(help="Comma-separated formats: markdown, json, stix, misp, csv, navigator."),
    ] = None,
    every: Annotated[
        str | None, typer.Option(help="Keep running, polling on this interval (e.g. 30m).")
    ] = None,
    allow_private_networks: Annotated[
        bool,
        typer.Option(
            "--allow-private-networks", help="Allow fetching from private, loopback and link-local addresses."
        ),
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress display.")] = False,
    misp_url: Annotated[
        str | None,
        typer.Option(help="Push each new or changed brief to this MISP server (key: $HUNTBRIEF_MISP_KEY)."),
    ] = None,
    sigma_rules: SigmaOpt = None,
    backends: BackendsOpt = None,
    tlp: TlpOpt = None,
) -> None:
    """Poll feeds and write one brief per new or changed article, plus an index; send alerts.

    Example: huntbrief run examples/huntbrief.toml --out briefs/
    """
    import asyncio

    from huntbrief.adapters.lock import RunLock
    from huntbrief.adapters.outbox import make_outbox
    from huntbrief.adapters.targets import delivery_targets
    from huntbrief.config import parse_duration, parse_formats, sigma_folder, sources_from_args

    try:
        interval = parse_duration(every) if every else None
        chosen = parse_formats(formats) if formats else None
        found, settings = sources_from_args(sources or [], Path.cwd())
        fmt = chosen or tuple(settings.model.formats)
        targets = delivery_targets(settings, misp_url=misp_url, env=os.environ)  # before any work
        analysis = AnalysisOptions(
            backends=parse_backend_option(backends) if backends else tuple(settings.model.backends),
            sigma_rules=sigma_folder(settings, sigma_rules),
            tlp=tlp_level(tlp) if tlp else settings.model.tlp,
        )
        runner = _make_runner(settings, db, out, fmt, allow_private_networks, quiet, len(found), analysis)
        m = settings.model
        private = allow_private_networks or m.allow_private_networks
        runner.outbox = make_outbox(
            targets,
            runner.store,
            retries=m.retries,
            timeout=m.timeout,
            allow_private=private,
            max_attempts=m.max_delivery_attempts,
        )
    except HuntbriefError as exc:
        die(exc)
    try:
        with RunLock(runner.writer.out_dir):
            code = asyncio.run(_run_loop(runner, found, interval))
    except HuntbriefError as exc:
        die(exc)
    finally:
        runner.close()
        runner.store.close()
    raise typer.Exit(code)


def _make_runner(
    settings: Settings,
    db: str | None,
    out: Path | None,
    fmt: tuple[str, ...],
    allow_private: bool,
    quiet: bool,
    feed_count: int,
    analysis: AnalysisOptions,
) -> Runner:
    from huntbrief.adapters.fetch import FetchPolicy, HttpxFetcher
    from huntbrief.adapters.output import BriefWriter
    from huntbrief.adapters.render import get_renderers
    from huntbrief.adapters.store import open_store
    from huntbrief.app.progress import make_progress
    from huntbrief.context import load_context
    from huntbrief.runner import Runner, RunPolicy

    m = settings.model
    base = settings.path.parent if settings.path else Path.cwd()
    db_target = db or (str(base / m.db) if m.db and "://" not in m.db else m.db) or str(default_db())
    out_dir = out or (base / m.out if m.out else Path.cwd() / "briefs")
    policy = FetchPolicy(
        timeout=m.timeout,
        max_bytes=m.max_bytes,
        retries=m.retries,
        max_concurrency=m.concurrency,
        per_host=m.per_host,
        allow_private_networks=allow_private or m.allow_private_networks,
    )
    options: dict[str, Any] = {"backends": analysis.backends, "sigma_rules": analysis.sigma_rules}
    ctx = load_context(severity_overrides=m.severity, location=str(settings.path or "defaults"), **options)
    run_policy = RunPolicy(
        max_attempts=m.max_attempts,
        max_local_bytes=m.max_bytes,
        recheck_after=_hours(m.recheck_hours),
        recheck_window=_hours(24 * m.recheck_days),
    )
    return Runner(
        fetcher=HttpxFetcher(policy),
        store=open_store(db_target),
        ctx=ctx,
        writer=BriefWriter(out_dir, get_renderers(fmt, tlp=analysis.tlp)),
        policy=run_policy,
        progress=make_progress(err.get(), enabled=not quiet),
        severity_overrides=m.severity,
        workers=_workers(m.workers, feed_count),
        context_options=options,
    )


def _workers(configured: int | None, feed_count: int) -> int:
    """Worker processes: as configured, else one per core for big runs and none for small ones."""
    if configured is not None:
        return configured
    return min(os.cpu_count() or 1, 4) if feed_count > 8 else 0


def _hours(hours: float) -> timedelta:
    return timedelta(hours=hours)


async def _run_loop(runner: Runner, sources: tuple[FeedSource, ...], interval: float | None) -> int:
    import asyncio

    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, runner.stop_requested.set)
    try:
        while True:
            stats = await runner.run_once(sources)
            _report(stats)
            if interval is None or runner.stop_requested.is_set():
                return 0 if not stats.feeds_failed or stats.feeds_polled else 1
            delay = interval * random.uniform(0.9, 1.1)
            try:
                await asyncio.wait_for(runner.stop_requested.wait(), timeout=delay)
                return 0
            except TimeoutError:
                continue
    finally:
        await runner.fetcher.aclose()


def _report(stats: RunStats) -> None:
    for name, reason in stats.feeds_failed:
        err.print(f"feed failed: {name}: {reason}", highlight=False, markup=False)
    for name, problem in stats.feed_problems:
        err.print(f"feed problem: {name}: {problem}", highlight=False, markup=False)
    for title, reason in stats.items_failed:
        err.print(f"item failed: {title}: {reason}", highlight=False, markup=False)
    print(stats.summary_line(), flush=True)
