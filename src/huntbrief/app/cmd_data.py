"""`huntbrief data …`: refresh the data files huntbrief can update without a new release (CISA KEV)."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Annotated

import typer

from huntbrief.app.console import err
from huntbrief.catalog.kev import (
    FEED_URL,
    KevCatalog,
    default_user_path,
    load_kev,
    parse_kev,
    reduce_feed,
    render_snapshot,
)
from huntbrief.errors import CatalogError, HuntbriefError

data_app = typer.Typer(
    name="data",
    help="Refresh huntbrief's updatable data (CISA's Known Exploited Vulnerabilities catalog).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
KEV_MAX_BYTES = 64 * 1024 * 1024


def validated_snapshot(content: bytes, url: str) -> tuple[KevCatalog, str]:
    """Parse, validate and reduce the downloaded feed; returns the catalog and the snapshot text to write."""
    try:
        raw = json.loads(content.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CatalogError(f"the KEV feed is not valid JSON: {exc}", location=url) from exc
    text = render_snapshot(reduce_feed(raw, url))
    return parse_kev(json.loads(text), url), text


def write_atomically(path: Path, text: str) -> None:
    """Replace `path` with `text` in one step (temp file in the same folder, fsync, rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _cves(count: int) -> str:
    return f"{count} CVE{'' if count == 1 else 's'}"


@data_app.command("update")
def update(
    url: Annotated[str, typer.Option(help="Where to fetch CISA's KEV JSON feed.")] = FEED_URL,
    timeout: Annotated[float, typer.Option(min=1, max=600, help="Seconds per attempt.")] = 60.0,
    allow_private_networks: Annotated[
        bool, typer.Option("--allow-private-networks", help="Allow a feed URL on a private address.")
    ] = False,
) -> None:
    """Download CISA's KEV catalog into the user data directory (validated, replaced atomically).

    Example: huntbrief data update
    """
    import asyncio

    from huntbrief.adapters.fetch import FetchPolicy, fetch_document  # httpx: only for a download

    target = default_user_path()
    policy = FetchPolicy(
        timeout=timeout, max_bytes=KEV_MAX_BYTES, allow_private_networks=allow_private_networks
    )
    try:
        catalog, text = validated_snapshot(asyncio.run(fetch_document(url, policy)), url)
        write_atomically(target, text)
        active = load_kev(target)
    except (HuntbriefError, OSError) as exc:
        err.print(f"[bold red]error:[/] {exc}", highlight=False, markup=True)
        raise typer.Exit(2 if isinstance(exc, CatalogError) else 1) from None
    print(
        f"KEV catalog {catalog.version} ({_cves(len(catalog))}, "
        f"released {catalog.released:%Y-%m-%d}) saved to {target}"
    )
    if active.version != catalog.version:
        print(f"The packaged snapshot {active.version} is newer and stays in use.")


@data_app.command("status")
def status() -> None:
    """Show which KEV catalog huntbrief uses (packaged snapshot or a refreshed copy) and its date.

    Example: huntbrief data status
    """
    user = default_user_path()
    active = load_kev(user)
    where = "refreshed copy" if active.source == str(user) else "packaged snapshot"
    print(
        f"KEV catalog {active.version} ({_cves(len(active))}, released {active.released:%Y-%m-%d}): {where}"
    )
    print(f"Refreshed copy location: {user}{'' if user.is_file() else ' (none yet)'}")
