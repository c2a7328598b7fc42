"""`huntbrief digest`: what the briefs of the last day (or any window) say, for a daily read."""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from platformdirs import user_data_dir

from huntbrief.app.console import err
from huntbrief.errors import ConfigError, HuntbriefError
from huntbrief.model import SeverityLevel

if TYPE_CHECKING:  # settings (pydantic), rendering and the store load only when a command runs
    from huntbrief.adapters.store import SqlStore
    from huntbrief.digest import Digest


class DigestFormat(StrEnum):
    """Formats of `huntbrief digest`."""

    markdown = "markdown"
    html = "html"
    json = "json"
    navigator = "navigator"


def make_digest(
    store: SqlStore, *, now: datetime, window: timedelta, min_level: SeverityLevel | None
) -> Digest:
    """Read the window's briefs, their saved versions and the last digest's time from the store."""
    from huntbrief.digest import Version, build_digest

    since = now - window
    briefs = store.briefs_since(since, min_level=min_level)
    versions = {
        b.item_key: [Version(h.analysed_at, h.level) for h in store.history(b.item_key)]
        for b in briefs
        if b.item_key
    }
    previous = store.last_digest()
    return build_digest(briefs, versions, now=now, since=since, previous=previous, min_level=min_level)


def database_target(db: str | None, cwd: Path) -> str:
    """`--db`, else the `db` of ./huntbrief.toml, else the per-user default database."""
    from huntbrief.config import CONFIG_NAME, load_settings

    if db:
        return db
    local = cwd / CONFIG_NAME
    if local.is_file():
        configured = load_settings(local).model.db
        if configured:
            return configured if "://" in configured else str(local.parent / configured)
    return str(Path(user_data_dir("huntbrief", appauthor=False)) / "huntbrief.db")


def digest(
    since: Annotated[str, typer.Option(help="Window: briefs analysed in the last 24h, 7d, 90m…")] = "24h",
    min_severity: Annotated[
        SeverityLevel | None,
        typer.Option("--min-severity", case_sensitive=False, help="Leave out briefs below this level."),
    ] = None,
    format: Annotated[DigestFormat, typer.Option("--format", "-f")] = DigestFormat.markdown,
    db: Annotated[str | None, typer.Option(help="State database: a file path or SQLAlchemy URL.")] = None,
    out: Annotated[Path | None, typer.Option(help="Write to this file instead of standard output.")] = None,
    record: Annotated[
        bool, typer.Option("--record/--no-record", help="Remember this digest as the last one.")
    ] = True,
) -> None:
    """Summarise recent briefs by severity, with top techniques, top IOCs and what changed.

    Example: huntbrief digest --since 24h --min-severity MEDIUM --format html --out digest.html
    """
    from huntbrief.adapters.output import atomic_write
    from huntbrief.adapters.render.digest import render_digest
    from huntbrief.adapters.store import open_store
    from huntbrief.config import parse_duration

    now = datetime.now(UTC)
    try:
        window = timedelta(seconds=parse_duration(since))
        with open_store(database_target(db, Path.cwd())) as store:
            result = make_digest(store, now=now, window=window, min_level=min_severity)
            text = render_digest(result, format.value)
            if out is not None:
                atomic_write(out, text)
            else:
                sys.stdout.write(text)
            if record:
                count = len(result.entries)
                store.record_digest(at=now, since=result.since, min_level=min_severity, brief_count=count)
    except (HuntbriefError, OSError) as exc:
        err.print(f"[bold red]error:[/] {exc}", highlight=False, markup=True)
        raise typer.Exit(2 if isinstance(exc, ConfigError) else 1) from exc
