"""Write rendered briefs and the index to an output folder: safe names, atomic writes."""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import unicodedata
from pathlib import Path

from huntbrief.adapters.render import Renderer
from huntbrief.model import Brief

_SLUG_DROP = re.compile(r"[^a-z0-9]+")
TEMP_SUFFIX = ".huntbrief-tmp"


def slugify(text: str, max_len: int = 60) -> str:
    """ASCII, lowercase, hyphen-separated slug of at most `max_len` chars ('untitled' if empty)."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    slug = _SLUG_DROP.sub("-", ascii_text.lower()).strip("-")
    return slug[:max_len].rstrip("-") or "untitled"


def brief_stem(brief: Brief) -> str:
    """`YYYY-MM-DD-slug-KEYHASH`: date-sorted, readable, and unique per item key."""
    when = brief.published or brief.analysed_at
    date = when.date().isoformat() if when else "undated"
    identity = brief.item_key or brief.url or brief.content_hash
    return f"{date}-{slugify(brief.title)}-{_key_hash(identity)}"


def _key_hash(identity: str) -> str:
    return hashlib.sha256(identity.encode("utf-8")).hexdigest()[:10]


def atomic_write(path: Path, text: str) -> None:
    """Write text to `path` through a temporary file and rename: readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=TEMP_SUFFIX, dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class BriefWriter:
    """Writes each brief once per renderer into `out_dir`, plus `index.<ext>` files."""

    def __init__(self, out_dir: Path, renderers: tuple[Renderer, ...]) -> None:
        self.out_dir = out_dir
        self.renderers = renderers

    def write(self, brief: Brief) -> list[Path]:
        """Render and write one brief; removes older files of the same item (renamed title/date)."""
        stem = brief_stem(brief)
        written = []
        for renderer in self.renderers:
            path = self.out_dir / f"{stem}.{renderer.extension}"
            atomic_write(path, renderer.render(brief))
            written.append(path)
            self._remove_stale(stem, renderer.extension)
        return written

    def missing(self, brief: Brief) -> bool:
        """True when any configured format of this brief is absent from disk."""
        stem = brief_stem(brief)
        return any(not (self.out_dir / f"{stem}.{r.extension}").exists() for r in self.renderers)

    def write_index(self, briefs: list[Brief]) -> list[Path]:
        """Write `index.md` / `index.json` listing `briefs` (already newest first)."""
        rows = [(b, brief_stem(b)) for b in briefs]
        paths = []
        for renderer in self.renderers:
            path = self.out_dir / f"index.{renderer.extension}"
            atomic_write(path, renderer.render_index(rows))
            paths.append(path)
        return paths

    def remove_orphans(self) -> int:
        """Delete temporary files left by a run that was killed mid-write; returns how many."""
        orphans = list(self.out_dir.glob(f".*{TEMP_SUFFIX}")) if self.out_dir.is_dir() else []
        for orphan in orphans:
            orphan.unlink(missing_ok=True)
        return len(orphans)

    def _remove_stale(self, stem: str, extension: str) -> None:
        suffix = stem.rsplit("-", 1)[1]
        for old in self.out_dir.glob(f"*-{suffix}.{extension}"):
            if old.name != f"{stem}.{extension}":
                old.unlink(missing_ok=True)
