"""`huntbrief serve`: the read-only web view and JSON API over a state database, with uvicorn."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Annotated

import typer
from platformdirs import user_data_dir

from huntbrief.app.console import err
from huntbrief.errors import HuntbriefError


def default_db() -> Path:
    """The state database `huntbrief run` uses by default."""
    return Path(user_data_dir("huntbrief", appauthor=False)) / "huntbrief.db"


def is_loopback(host: str) -> bool:
    """True for localhost and loopback addresses (the only hosts served without a warning)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def serve(
    db: Annotated[
        str | None,
        typer.Option(help="State database written by `huntbrief run`: a file path or SQLAlchemy URL."),
    ] = None,
    host: Annotated[
        str, typer.Option(help="Address to bind; anything but loopback exposes the briefs.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="TCP port.")] = 8000,
) -> None:
    """Serve the briefs as web pages and a JSON API (read-only), on 127.0.0.1 unless told otherwise.

    Example: huntbrief serve --db ~/.local/share/huntbrief/state.db --port 8000
    """
    import uvicorn

    from huntbrief.adapters.store import open_store
    from huntbrief.app.web import LOOPBACK_HOSTS, create_app

    target = db or str(default_db())
    if "://" not in target and not Path(target).expanduser().exists():
        err.print(
            f"[bold red]error:[/] no state database at {target} (run `huntbrief run` first, or pass --db)"
        )
        raise typer.Exit(1)
    try:
        store = open_store(target)
    except HuntbriefError as exc:
        err.print(f"[bold red]error:[/] {exc}", highlight=False)
        raise typer.Exit(1) from exc
    loopback = is_loopback(host)
    if not loopback:
        err.print(f"[yellow]warning:[/] serving on {host}: anyone who can reach it can read every brief")
    app = create_app(store, allowed_hosts=LOOPBACK_HOSTS if loopback else None)
    err.print(f"huntbrief: serving {target} on http://{host}:{port}/ (API docs at /api/docs)")
    try:
        uvicorn.run(app, host=host, port=port, log_level="warning", server_header=False, proxy_headers=False)
    finally:
        store.close()
