"""`huntbrief attack …`: show the ATT&CK catalogue in use, or install a newer official STIX bundle."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from huntbrief.app.cmd_data import write_atomically
from huntbrief.app.console import err
from huntbrief.errors import CatalogError, HuntbriefError

if TYPE_CHECKING:  # the catalogues load (and httpx for a download) only when a command runs
    from huntbrief.adapters.fetch import FetchPolicy
    from huntbrief.catalog.attack import AttackCatalog

attack_app = typer.Typer(
    name="attack",
    help="Show the MITRE ATT&CK catalogue in use, or update it from a newer official STIX bundle.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
BUNDLE_MAX_BYTES = 256 * 1024 * 1024
MIN_TECHNIQUES = 100  # an Enterprise bundle has several hundred; fewer means the wrong file


def converted_catalog(content: bytes, where: str) -> tuple[AttackCatalog, str]:
    """Convert a STIX bundle (or a compact catalogue) into the compact text and check it fully.

    The result must load, hold an Enterprise-sized technique set, and keep huntbrief's kill-chain
    mapping, behaviour phrases and learned model valid; otherwise CatalogError says why.
    """
    from huntbrief.catalog.attack import catalog_from_text, compact_from_stix, render_compact
    from huntbrief.catalog.killchain import load_kill_chain
    from huntbrief.catalog.technique_aliases import load_technique_aliases
    from huntbrief.catalog.technique_model import load_technique_model

    try:
        raw: Any = json.loads(content.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CatalogError(f"not valid JSON: {exc}", location=where) from exc
    if not isinstance(raw, dict):
        raise CatalogError("top level must be a JSON object (a STIX bundle)", location=where)
    if raw.get("type") == "bundle":
        try:
            raw = compact_from_stix(raw)
        except (KeyError, TypeError, ValueError) as exc:
            raise CatalogError(f"malformed STIX bundle: {exc!r}", location=where) from exc
    text = render_compact(raw)
    catalog = catalog_from_text(text, where)
    if len(catalog.techniques) < MIN_TECHNIQUES or not catalog.tactics:
        raise CatalogError(
            f"only {len(catalog.techniques)} techniques and {len(catalog.tactics)} tactics: "
            "not an ATT&CK Enterprise bundle",
            location=where,
        )
    load_kill_chain(catalog)
    load_technique_aliases(catalog)
    load_technique_model(catalog)
    return catalog, text


def _read_source(source: str, policy: FetchPolicy) -> bytes:
    if source.startswith(("http://", "https://")):
        import asyncio

        from huntbrief.adapters.fetch import fetch_document

        return asyncio.run(fetch_document(source, policy))
    try:
        return Path(source).expanduser().read_bytes()
    except OSError as exc:
        raise CatalogError(f"cannot read: {exc}", location=source) from exc


@attack_app.command("update")
def update(
    source: Annotated[str, typer.Option("--from", help="A STIX bundle file or an http(s) URL.")],
    timeout: Annotated[float, typer.Option(min=1, max=600, help="Seconds per download attempt.")] = 120.0,
    allow_private_networks: Annotated[
        bool, typer.Option("--allow-private-networks", help="Allow a URL on a private address.")
    ] = False,
) -> None:
    """Install a newer ATT&CK Enterprise STIX bundle as the catalogue in use (validated, atomic).

    Example: huntbrief attack update --from enterprise-attack.json
    """
    from huntbrief.adapters.fetch import FetchPolicy
    from huntbrief.catalog.attack import default_user_path, load_attack_catalog

    target = default_user_path()
    policy = FetchPolicy(
        timeout=timeout, max_bytes=BUNDLE_MAX_BYTES, allow_private_networks=allow_private_networks
    )
    try:
        catalog, text = converted_catalog(_read_source(source, policy), source)
        write_atomically(target, text)
        active = load_attack_catalog()
    except (HuntbriefError, OSError) as exc:
        err.print(f"[bold red]error:[/] {exc}", highlight=False, markup=True)
        raise typer.Exit(2 if isinstance(exc, CatalogError) else 1) from None
    print(
        f"ATT&CK {catalog.version} ({len(catalog.techniques)} techniques, "
        f"{len(catalog.tactics)} tactics, {len(catalog.revoked)} revoked IDs) saved to {target}"
    )
    if active.version != catalog.version:
        print(f"The packaged ATT&CK {active.version} is newer and stays in use.")


@attack_app.command("version")
def version() -> None:
    """Print the version and origin of the ATT&CK catalogue and technique model in use.

    Example: huntbrief attack version
    """
    from huntbrief.catalog.attack import load_attack_catalog
    from huntbrief.catalog.technique_model import load_technique_model

    try:
        catalog = load_attack_catalog()
        model = load_technique_model(catalog)
    except HuntbriefError as exc:
        err.print(f"[bold red]error:[/] {exc}", highlight=False, markup=True)
        raise typer.Exit(2) from None
    print(f"ATT&CK Enterprise {catalog.version} ({len(catalog.techniques)} techniques)")
    print(f"catalogue: {catalog.location}")
    print(f"source: {catalog.source}")
    trained = dict(model.trained)
    print(
        f"technique model: {len(model.labels)} techniques, trained on ATT&CK "
        f"{trained.get('attack_version', '?')} by {trained.get('script', '?')}"
    )
