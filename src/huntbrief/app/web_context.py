"""What every web route needs: the store, its read-side queries, the templates and the output formats.

Built once by `web.create_app` and kept on `app.state.web`; routes get it with `Depends(web_context)`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

import jinja2
from fastapi import Request
from fastapi.templating import Jinja2Templates

from huntbrief.adapters.queries import Queries
from huntbrief.adapters.render import RENDERERS, Renderer
from huntbrief.adapters.store import SqlStore

log = logging.getLogger("huntbrief.web")
LEVEL_CLASSES = {"CRITICAL": "crit", "HIGH": "high", "MEDIUM": "med", "LOW": "low", "INFO": "info"}


@dataclass(frozen=True, slots=True)
class WebContext:
    """The read-only dependencies of the web routes."""

    store: SqlStore
    queries: Queries
    templates: Jinja2Templates
    formats: dict[str, Renderer]


def web_context(request: Request) -> WebContext:
    """The app's WebContext (a FastAPI dependency)."""
    context: WebContext = request.app.state.web
    return context


def output_formats() -> dict[str, Renderer]:
    """An instance of every renderer in RENDERERS; one that cannot start is left out with a log line."""
    made: dict[str, Renderer] = {}
    for name, cls in RENDERERS.items():
        try:
            made[name] = cls()
        except Exception as exc:  # an optional renderer missing its dependency must not stop the server
            log.warning("format %s disabled: %s", name, exc)
    return made


def safe_href(url: str | None) -> str | None:
    """`url` when it is an absolute http(s) URL with a host, else None (never javascript:, data:, …)."""
    if not url:
        return None
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    return url.strip() if parts.scheme.lower() in ("http", "https") and parts.netloc else None


def when(value: datetime | None, with_time: bool = False) -> str:
    """A UTC date (and time) for display; an em dash for None."""
    if value is None:
        return "—"
    return value.strftime("%Y-%m-%d %H:%M UTC" if with_time else "%Y-%m-%d")


def make_templates() -> Jinja2Templates:
    """Jinja2 templates with autoescape on for every template, strict undefined and our filters."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("huntbrief.app", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        safe_href=safe_href, when=when, level_class=lambda lv: LEVEL_CLASSES.get(str(lv), "info")
    )
    return Jinja2Templates(env=env)
