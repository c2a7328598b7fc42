"""Brief → Markdown through a Jinja2 template (`templates/brief.md.j2`)."""

from __future__ import annotations

from functools import lru_cache

import jinja2

from huntbrief.adapters.render.provenance import provenance
from huntbrief.model import Brief


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("huntbrief.adapters.render", "templates"),
        autoescape=False,  # Markdown, not HTML; values are escaped by the md filter below
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["md"] = escape_markdown
    env.filters["fence"] = fence_for
    return env


def escape_markdown(text: str) -> str:
    """Escape text for inline Markdown: no accidental emphasis, links, HTML or line breaks."""
    out = " ".join(str(text).split())
    for char in "\\`*_[]<>|#":
        out = out.replace(char, "\\" + char)
    return out


def fence_for(code: str) -> str:
    """A backtick fence longer than any run of backticks inside `code`."""
    longest, run = 0, 0
    for char in code:
        run = run + 1 if char == "`" else 0
        longest = max(longest, run)
    return "`" * max(3, longest + 1)


class MarkdownRenderer:
    """The brief people read: profile, IOCs, techniques, kill chain, hunts, why it matters."""

    name = "markdown"
    extension = "md"

    def render(self, brief: Brief) -> str:
        """The brief as Markdown text."""
        return _environment().get_template("brief.md.j2").render(b=brief, p=provenance(brief))

    def render_index(self, briefs: list[tuple[Brief, str]]) -> str:
        """A Markdown table of briefs, newest first, linking each file."""
        return _environment().get_template("index.md.j2").render(rows=briefs)
