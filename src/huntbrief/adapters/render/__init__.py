"""Renderers: the single name → class table. Config and the CLI refer to them by name.

Heavy libraries (stix2, PyMISP) are imported by their renderers on first use, not here.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from huntbrief.adapters.render.json import JsonRenderer
from huntbrief.adapters.render.markdown import MarkdownRenderer
from huntbrief.adapters.render.misp import MispRenderer
from huntbrief.adapters.render.navigator import NavigatorRenderer
from huntbrief.adapters.render.stix import StixRenderer
from huntbrief.adapters.render.watchlist import CsvRenderer
from huntbrief.errors import ConfigError
from huntbrief.model import Brief


class Renderer(Protocol):
    """Turns a Brief, or the list of briefs for an index, into text."""

    name: str
    extension: str

    def render(self, brief: Brief) -> str:
        """The brief as text in this renderer's format."""
        ...

    def render_index(self, briefs: list[tuple[Brief, str]]) -> str:
        """An index of (brief, file stem) pairs, newest first."""
        ...


@runtime_checkable
class IndexFiles(Protocol):
    """A renderer that also writes aggregate files beside its index (e.g. per-type watchlists)."""

    index_files_glob: str  # matches every file it may write, so stale ones can be removed

    def render_index_files(self, briefs: list[tuple[Brief, str]]) -> dict[str, str]:
        """File name → text of each aggregate file for these (brief, file stem) pairs."""
        ...


RENDERERS: dict[str, type[Renderer]] = {
    "markdown": MarkdownRenderer,
    "json": JsonRenderer,
    "stix": StixRenderer,
    "misp": MispRenderer,
    "csv": CsvRenderer,
    "navigator": NavigatorRenderer,
}


def get_renderers(names: tuple[str, ...], *, tlp: str = "clear") -> tuple[Renderer, ...]:
    """Instantiate renderers by name (STIX and MISP marked with `tlp`); an unknown name is a
    ConfigError listing the valid ones."""
    unknown = [n for n in names if n not in RENDERERS]
    if unknown:
        raise ConfigError(f"unknown format {', '.join(unknown)}; valid: {', '.join(RENDERERS)}")
    return tuple(_make(n, tlp) for n in names)


def _make(name: str, tlp: str) -> Renderer:
    if name == "stix":
        return StixRenderer(tlp=tlp)
    if name == "misp":
        return MispRenderer(tlp=tlp)
    return RENDERERS[name]()
