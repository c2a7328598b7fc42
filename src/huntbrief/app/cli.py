"""The `huntbrief` command line (Typer). Thin: parse arguments, call the runner, print.

Exit codes: 0 success, 1 a run or input error, 2 a configuration or usage error.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import os
import random
import signal
import sys
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from platformdirs import user_data_dir
from rich.console import Console

from huntbrief import __version__
from huntbrief.app.cmd_attack import attack_app
from huntbrief.app.cmd_data import data_app
from huntbrief.app.cmd_digest import digest
from huntbrief.app.cmd_hunts import hunts_app
from huntbrief.app.cmd_serve import serve
from huntbrief.app.inputs import read_input
from huntbrief.app.options import (
    AnalysisOptions,
    BackendsOpt,
    SigmaOpt,
    TlpOpt,
    parse_backend_option,
    tlp_level,
)
from huntbrief.errors import ConfigError, HuntbriefError

if TYPE_CHECKING:  # the heavy modules (pydantic, SQLAlchemy, httpx, FastAPI, pySigma) load in the commands
    from huntbrief.config import Settings
    from huntbrief.model import FeedSource
    from huntbrief.runner import Runner, RunStats

app = typer.Typer(
    name="huntbrief",
    help="Turn security feeds into threat briefs: IOCs, ATT&CK techniques, hunts and severity.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
err = Console(stderr=True)
log = logging.getLogger("huntbrief")


class BriefFormat(StrEnum):
    """Formats of `huntbrief brief` (the renderer names)."""

    markdown = "markdown"
    json = "json"
    stix = "stix"
    misp = "misp"
    csv = "csv"
    navigator = "navigator"


class IocFormat(StrEnum):
    """Formats of `huntbrief iocs`."""

    json = "json"
    csv = "csv"
    text = "text"


class TechFormat(StrEnum):
    """Formats of `huntbrief techniques`."""

    json = "json"
    text = "text"


def _die(exc: HuntbriefError) -> NoReturn:
    err.print(f"[bold red]error:[/] {exc}", highlight=False, markup=True)
    raise typer.Exit(2 if isinstance(exc, ConfigError) else 1)


def _version(value: bool) -> None:
    if value:
        print(f"huntbrief {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log more detail to stderr.")] = False,
) -> None:
    """huntbrief: feeds in, one threat brief per article out."""
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


def _default_db() -> Path:
    return Path(user_data_dir("huntbrief", appauthor=False)) / "huntbrief.db"


@app.command()
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
            targets, runner.store, retries=m.retries, timeout=m.timeout, allow_private=private
        )
    except HuntbriefError as exc:
        _die(exc)
    try:
        with RunLock(runner.writer.out_dir):
            code = asyncio.run(_run_loop(runner, found, interval))
    except HuntbriefError as exc:
        _die(exc)
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
    db_target = db or (str(base / m.db) if m.db and "://" not in m.db else m.db) or str(_default_db())
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
        progress=make_progress(err, enabled=not quiet),
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


InputArg = Annotated[str, typer.Argument(help="An http(s) URL, a .html/.htm/.txt/.md file, or - for stdin.")]


@app.command()
def brief(
    input: InputArg,
    format: Annotated[BriefFormat, typer.Option("--format", "-f")] = BriefFormat.markdown,
    title: Annotated[str | None, typer.Option(help="Title (default: from the page or first line).")] = None,
    url: Annotated[str | None, typer.Option(help="The article's URL, when INPUT is a file or stdin.")] = None,
    source: Annotated[str | None, typer.Option(help="Source name to show.")] = None,
    published: Annotated[datetime | None, typer.Option(help="Publication date, e.g. 2024-05-01.")] = None,
    allow_private_networks: Annotated[bool, typer.Option("--allow-private-networks")] = False,
    sigma_rules: SigmaOpt = None,
    backends: BackendsOpt = None,
    tlp: TlpOpt = None,
) -> None:
    """Print the brief of one article.

    Example: huntbrief brief report.html --format json --sigma-rules ~/sigma/rules
    """
    from huntbrief.adapters.render import get_renderers
    from huntbrief.context import load_context
    from huntbrief.pipeline import DEFAULT_BACKENDS, build_brief

    try:
        article = read_input(
            input,
            title=title,
            url=url,
            source=source,
            published=published,
            allow_private=allow_private_networks,
        )
        chosen = parse_backend_option(backends) if backends else DEFAULT_BACKENDS
        ctx = load_context(sigma_rules=sigma_rules, backends=chosen)
        result = build_brief(article, ctx, analysed_at=datetime.now(UTC))
        text = get_renderers((format.value,), tlp=tlp_level(tlp) if tlp else "clear")[0].render(result)
    except HuntbriefError as exc:
        _die(exc)
    sys.stdout.write(text if text.endswith("\n") else text + "\n")


@app.command()
def iocs(
    input: InputArg,
    format: Annotated[IocFormat, typer.Option("--format", "-f")] = IocFormat.json,
    url: Annotated[str | None, typer.Option(help="The article's URL (its own links are not IOCs).")] = None,
    allow_private_networks: Annotated[bool, typer.Option("--allow-private-networks")] = False,
) -> None:
    """Print the indicators of compromise found in one article.

    Example: huntbrief iocs report.txt --format csv
    """
    from huntbrief.catalog.noise import load_noise
    from huntbrief.serialize import iocs_to_dict
    from huntbrief.stages.iocs import find_indicators

    try:
        article = read_input(input, url=url, allow_private=allow_private_networks)
        found = find_indicators(article, load_noise())
    except HuntbriefError as exc:
        _die(exc)
    if format is IocFormat.json:
        print(json.dumps(iocs_to_dict(found), indent=2, ensure_ascii=False))
    elif format is IocFormat.csv:
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(["type", "value", "defanged", "confidence"])
        for i in found.indicators:
            writer.writerow([i.kind.value, i.value, i.defanged, i.confidence.value])
        sys.stdout.write(buf.getvalue())
    else:
        for i in found.indicators:
            print(i.value)


@app.command()
def techniques(
    input: InputArg,
    format: Annotated[TechFormat, typer.Option("--format", "-f")] = TechFormat.text,
    allow_private_networks: Annotated[bool, typer.Option("--allow-private-networks")] = False,
) -> None:
    """Print the ATT&CK techniques one article describes, with evidence.

    Example: huntbrief techniques report.html --format json
    """
    from huntbrief.context import load_context
    from huntbrief.serialize import technique_to_dict
    from huntbrief.stages.attack import infer_techniques

    try:
        article = read_input(input, allow_private=allow_private_networks)
        ctx = load_context()
        hits = infer_techniques(article, ctx.attack, ctx.aliases, ctx.technique_model)
    except HuntbriefError as exc:
        _die(exc)
    if format is TechFormat.json:
        print(json.dumps({"techniques": [technique_to_dict(h) for h in hits]}, indent=2, ensure_ascii=False))
        return
    for h in hits:
        evidence = h.evidence[0] if h.evidence else ""
        print(f"{h.id}\t{h.name}\t{h.confidence:.2f}\t{evidence}")


@app.command()
def feeds(
    sources: Annotated[
        list[str] | None, typer.Argument(help="Same SOURCE rules as `run`.", show_default=False)
    ] = None,
) -> None:
    """List the feeds a run would poll, with their category.

    Example: huntbrief feeds sources.opml
    """
    from huntbrief.config import sources_from_args

    try:
        found, _ = sources_from_args(sources or [], Path.cwd())
    except HuntbriefError as exc:
        _die(exc)
    for s in found:
        print(f"{s.category}\t{s.name}\t{s.url}")


@app.command()
def failures(
    db: Annotated[str | None, typer.Option(help="State database: a file path or SQLAlchemy URL.")] = None,
) -> None:
    """List items whose last attempt failed, and alerts or MISP pushes whose last delivery failed
    (both are retried on the next run).

    Example: huntbrief failures --db huntbrief.db
    """
    from huntbrief.adapters.store import open_store

    try:
        store = open_store(db or str(_default_db()))
        rows = store.failures()
        undelivered = store.failed_deliveries()
        store.close()
    except HuntbriefError as exc:
        _die(exc)
    for f in rows:
        print(f"{f.source}\t{f.stage}\t{f.attempts}\t{f.url or f.item_key}\t{f.error}")
    for d in undelivered:  # target ids never hold a secret (webhook URLs are not part of them)
        print(f"{d.target}\tdeliver\t{d.attempts}\t{d.key}\t{d.error}")


app.add_typer(hunts_app, name="hunts")
app.add_typer(data_app, name="data")
app.add_typer(attack_app, name="attack")
app.command()(digest)
app.command()(serve)


def main() -> None:
    """Console-script entry point."""
    app()
