"""The `huntbrief` command line (Typer). Thin: parse arguments, call the stages or the runner, print.

Exit codes: 0 success, 1 a run or input error, 2 a configuration or usage error.
"""

from __future__ import annotations

import csv
import gc
import io
import json
import logging
import sys
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from huntbrief import __version__
from huntbrief.app.cmd_attack import attack_app
from huntbrief.app.cmd_data import data_app
from huntbrief.app.cmd_digest import digest
from huntbrief.app.cmd_hunts import hunts_app
from huntbrief.app.cmd_run import default_db, run
from huntbrief.app.cmd_serve import serve
from huntbrief.app.console import die
from huntbrief.app.inputs import read_input
from huntbrief.app.options import (
    BackendsOpt,
    SigmaOpt,
    TlpOpt,
    parse_backend_option,
    tlp_level,
)
from huntbrief.errors import HuntbriefError

app = typer.Typer(
    name="huntbrief",
    help="Turn security feeds into threat briefs: IOCs, ATT&CK techniques, hunts and severity.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
log = logging.getLogger("huntbrief")
app.command()(run)  # first in --help: the main job


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
        die(exc)
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
        die(exc)
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
        die(exc)
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
        die(exc)
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
        store = open_store(db or str(default_db()))
        rows = store.failures()
        undelivered = store.failed_deliveries()
        store.close()
    except HuntbriefError as exc:
        die(exc)
    for f in rows:
        print(f"{f.source}\t{f.stage}\t{f.attempts}\t{f.url or f.item_key}\t{f.error}")
    for d in undelivered:  # target ids never hold a secret (webhook URLs are not part of them)
        print(f"{d.target}\tdeliver\t{d.attempts}\t{d.key}\t{d.error}")


app.add_typer(hunts_app, name="hunts")
app.add_typer(data_app, name="data")
app.add_typer(attack_app, name="attack")
app.command()(digest)
app.command()(serve)


# The cycle collector's defaults (a young-generation pass every 700 net allocations) suit programs
# that build long-lived object graphs; a command makes millions of short-lived, acyclic objects
# (regex matches, candidate hits), and the default passes cost ~5% of `huntbrief iocs` on 10 MB.
# Collecting less often keeps the same guarantees (cycles are still freed), only later.
GC_THRESHOLDS = (20_000, 20, 20)


def main() -> None:
    """Console-script entry point."""
    gc.set_threshold(*GC_THRESHOLDS)
    app()
