"""Renderers: the single name → class table. Config and the CLI refer to them by name."""

from __future__ import annotations

from typing import Protocol

from huntbrief.adapters.render.json import JsonRenderer
from huntbrief.adapters.render.markdown import MarkdownRenderer
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


RENDERERS: dict[str, type[Renderer]] = {
    "markdown": MarkdownRenderer,
    "json": JsonRenderer,
}


def get_renderers(names: tuple[str, ...]) -> tuple[Renderer, ...]:
    """Instantiate renderers by name; an unknown name is a ConfigError listing the valid ones."""
    unknown = [n for n in names if n not in RENDERERS]
    if unknown:
        raise ConfigError(f"unknown format {', '.join(unknown)}; valid: {', '.join(RENDERERS)}")
    return tuple(RENDERERS[n]() for n in names)
