"""`huntbrief hunts list|show ID [--backend NAME]`: browse the hunt library and its queries."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from huntbrief.app.console import LazyConsole

if TYPE_CHECKING:  # the hunt library loads only when a hunts command runs
    from huntbrief.catalog.usecases import UseCase

hunts_app = typer.Typer(
    name="hunts",
    help="List the hunt library (use cases) or show one use case with its queries per backend.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out = LazyConsole(highlight=False, soft_wrap=True)
err = LazyConsole(stderr=True, soft_wrap=True)


def _library_for(backend: str | None) -> tuple[UseCase, ...]:
    from huntbrief.adapters.siem import BACKENDS, packaged_usecases

    if backend is not None and backend not in BACKENDS:
        err.print(f"error: unknown backend {backend!r}; valid: {', '.join(BACKENDS)}")
        raise typer.Exit(2)
    names = tuple(BACKENDS) if backend is None else (backend,)
    return tuple(sorted(packaged_usecases(names), key=lambda uc: uc.id))


@hunts_app.command("list")
def list_hunts(
    backend: Annotated[str | None, typer.Option(help="Only use cases with a query for this backend.")] = None,
    technique: Annotated[
        str | None, typer.Option(help="Only use cases for this ATT&CK technique (or its parent).")
    ] = None,
) -> None:
    """One line per use case: id, phase, confidence, techniques, backends, title.

    Example: huntbrief hunts list --technique T1543 --backend kql
    """
    shown = 0
    for usecase in _library_for(backend):
        backends = [b for b, _ in usecase.queries]
        if backend is not None and backend not in backends:
            continue
        if technique is not None and not any(
            t == technique or t.split(".")[0] == technique for t in usecase.techniques
        ):
            continue
        out.print(
            f"{usecase.id:32} {usecase.phase:22} {usecase.confidence.value:6} "
            f"{','.join(usecase.techniques):28} {','.join(backends):38} {usecase.title}"
        )
        shown += 1
    err.print(f"{shown} use case(s)")


@hunts_app.command("show")
def show_hunt(
    usecase_id: Annotated[
        str, typer.Argument(metavar="ID", help="A use-case id such as UC_SERVICE_PERSIST.")
    ],
    backend: Annotated[str | None, typer.Option(help="Show only this backend's query.")] = None,
) -> None:
    """The use case's description, data sources, false positives and its query for each backend.

    Example: huntbrief hunts show UC_SERVICE_PERSIST --backend splunk
    """
    library = {uc.id: uc for uc in _library_for(backend)}
    usecase = library.get(usecase_id.upper())
    if usecase is None:
        err.print(f"error: no use case {usecase_id!r}; try `huntbrief hunts list`")
        raise typer.Exit(1)
    out.print(f"{usecase.id}: {usecase.title}")
    techniques = ", ".join(usecase.techniques)
    out.print(f"phase: {usecase.phase}   confidence: {usecase.confidence.value}   techniques: {techniques}")
    out.print(f"\n{usecase.description}\n\nconfidence rule: {usecase.confidence_rule}")
    out.print("data sources:\n" + "\n".join(f"  - {d}" for d in usecase.data_sources))
    out.print("known false positives:\n" + "\n".join(f"  - {f}" for f in usecase.false_positives))
    queries = [(b, q) for b, q in usecase.queries if backend is None or b == backend]
    if not queries:
        err.print(f"error: {usecase.id} has no query for {backend}")
        raise typer.Exit(1)
    from huntbrief.adapters.siem import BACKENDS

    for name, text in queries:
        out.print(f"\n## {BACKENDS[name].label} ({name})\n{text}")
