"""Source lists: OPML documents, the built-in feed list and SOURCE command-line arguments.

A SOURCE is a feed URL, a local feed file, an OPML file or a `huntbrief.toml` settings file.
Every error is a `ConfigError` naming the argument or file.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from defusedxml import ElementTree as SafeET

from huntbrief.config_settings import Settings, check_notify_sources, default_settings, load_settings
from huntbrief.config_values import CONFIG_NAME
from huntbrief.errors import ConfigError
from huntbrief.model import FeedSource


def parse_opml(data: bytes, location: str) -> tuple[FeedSource, ...]:
    """Feed sources from an OPML document (nested outlines; `category` inherited from parents)."""
    try:
        root = SafeET.fromstring(data)
    except Exception as exc:  # defusedxml raises several types for hostile or broken XML
        raise ConfigError(f"invalid OPML: {exc}", location=location) from exc
    body = root.find("body")
    if root.tag != "opml" or body is None:
        raise ConfigError("not an OPML document (no <opml><body>)", location=location)
    found = list(_outlines(body, "news"))
    if not found:
        raise ConfigError("OPML lists no feeds (no outline with xmlUrl)", location=location)
    return tuple(dict((s.url, s) for s in found).values())


def _outlines(node: Any, category: str) -> Iterable[FeedSource]:
    for outline in node.findall("outline"):
        cat = outline.get("category") or category
        url = outline.get("xmlUrl")
        if url:
            name = outline.get("title") or outline.get("text") or urlsplit(url).netloc or url
            yield FeedSource(name=name.strip(), url=url.strip(), category=cat)
        yield from _outlines(outline, cat)


def default_sources() -> tuple[FeedSource, ...]:
    """The built-in curated list of real security feeds (packaged OPML)."""
    data = resources.files("huntbrief.catalog").joinpath("data/default_feeds.opml").read_bytes()
    return parse_opml(data, location="huntbrief:default_feeds.opml")


def sources_from_args(args: Sequence[str], cwd: Path) -> tuple[tuple[FeedSource, ...], Settings]:
    """Resolve SOURCE arguments (feed URL, feed file, OPML, TOML) into sources + settings.

    With no argument: `huntbrief.toml` in `cwd` if present, else the built-in list.
    """
    if not args:
        local = cwd / CONFIG_NAME
        if local.is_file():
            settings = load_settings(local)
            found = settings.sources or default_sources()
            check_notify_sources(settings, found)
            return found, settings
        return default_sources(), default_settings()
    settings = default_settings()
    sources: list[FeedSource] = []
    for arg in args:
        found, maybe = _one_source(arg, cwd)
        sources.extend(found)
        if maybe is not None:
            if settings.path is not None:
                raise ConfigError("only one settings file may be given", location=arg)
            settings = maybe
    unique = tuple(dict((s.url, s) for s in sources).values())
    check_notify_sources(settings, unique)
    return unique, settings


def _one_source(arg: str, cwd: Path) -> tuple[tuple[FeedSource, ...], Settings | None]:
    scheme = urlsplit(arg).scheme.lower()
    if scheme in ("http", "https"):
        return (FeedSource(name=urlsplit(arg).netloc, url=arg),), None
    path = Path(arg[7:] if scheme == "file" else arg)
    path = path if path.is_absolute() else cwd / path
    if not path.is_file():
        raise ConfigError("source is neither an http(s) URL nor an existing file", location=arg)
    if path.suffix.lower() == ".toml":
        settings = load_settings(path)
        if not settings.sources:
            raise ConfigError("settings file lists no [[sources]]", location=str(path))
        return settings.sources, settings
    head = path.read_bytes()[:2048].lstrip().lower()
    if path.suffix.lower() == ".opml" or b"<opml" in head:
        return parse_opml(path.read_bytes(), location=str(path)), None
    return (FeedSource(name=path.stem, url=str(path.resolve()), category="local"),), None
