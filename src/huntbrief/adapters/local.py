"""Local files as feed and article sources: paths, file:// URLs and size-capped reads."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlsplit

from huntbrief.errors import FetchError


def is_local(url: str) -> bool:
    """True for a file path or file:// URL (not http/https)."""
    return urlsplit(url).scheme.lower() not in ("http", "https")


def local_path(url: str) -> Path:
    """The filesystem path of a file:// URL or plain path."""
    parts = urlsplit(url)
    return Path(unquote(parts.path)) if parts.scheme.lower() == "file" else Path(url)


def read_capped(path: Path, max_bytes: int, location: str) -> bytes:
    """Read at most `max_bytes` of a file; a larger file or an unreadable one is a FetchError."""
    try:
        with path.open("rb") as handle:
            data = handle.read(max_bytes + 1)
    except OSError as exc:
        raise FetchError(f"cannot read file: {exc.strerror or exc}", location=location) from exc
    if len(data) > max_bytes:
        raise FetchError(f"file larger than {max_bytes} bytes", location=location)
    return data
