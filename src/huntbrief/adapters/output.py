"""Write rendered briefs and the index to an output folder: safe names, atomic writes."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from huntbrief.adapters.render import IndexFiles, Renderer
from huntbrief.adapters.render.naming import brief_stem, slugify
from huntbrief.model import Brief

__all__ = ["TEMP_SUFFIX", "BriefWriter", "atomic_write", "brief_stem", "slugify"]

TEMP_SUFFIX = ".huntbrief-tmp"


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
        """Write `index.<ext>` per renderer for `briefs` (already newest first), plus any extra
        aggregate files a renderer makes (watchlists); its stale extra files are removed."""
        rows = [(b, brief_stem(b)) for b in briefs]
        paths = []
        for renderer in self.renderers:
            path = self.out_dir / f"index.{renderer.extension}"
            atomic_write(path, renderer.render_index(rows))
            paths.append(path)
            if isinstance(renderer, IndexFiles):
                paths += self._write_extras(renderer, rows)
        return paths

    def _write_extras(self, renderer: IndexFiles, rows: list[tuple[Brief, str]]) -> list[Path]:
        files = renderer.render_index_files(rows)
        for name, text in files.items():
            atomic_write(self.out_dir / name, text)
        for old in self.out_dir.glob(renderer.index_files_glob):
            if old.name not in files:
                old.unlink(missing_ok=True)
        return [self.out_dir / name for name in files]

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
