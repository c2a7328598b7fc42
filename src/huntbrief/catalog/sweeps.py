"""IOC-sweep templates: per-backend query templates for groups of indicator kinds, validated at load.

The packaged templates live in `data/sweeps.yaml`; `load_sweeps` caches them after the first load.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from huntbrief.catalog.datafile import yaml_mapping
from huntbrief.catalog.usecases import DATA_DIR, PHASES, QUERY_LANGUAGES
from huntbrief.catalog.yaml_reader import YamlReader, read_text
from huntbrief.model import IndicatorKind

SWEEP_ID = re.compile(r"^SWEEP_[A-Z0-9_]+$")


@dataclass(frozen=True, slots=True)
class SweepQuery:
    """One backend's sweep template; `{values}` is replaced by the quoted, comma-joined values.

    Each value is first expanded through every entry of `patterns` (`{value}` placeholder).
    """

    backend: str
    template: str
    patterns: tuple[str, ...] = ("{value}",)


@dataclass(frozen=True, slots=True)
class SweepTemplate:
    """An IOC sweep for one group of indicator kinds; `title` may hold a `{count}` placeholder."""

    id: str
    title: str
    description: str
    phase: str
    kinds: tuple[IndicatorKind, ...]
    queries: tuple[SweepQuery, ...]

    def query(self, backend: str) -> SweepQuery | None:
        """The template for `backend`, or None when the sweep has none."""
        return next((q for q in self.queries if q.backend == backend), None)


@dataclass(frozen=True, slots=True)
class SweepTemplates:
    """All sweep templates, in file order, plus the most values one query may carry."""

    templates: tuple[SweepTemplate, ...]
    max_values: int = 500


def _sweep_query(reader: YamlReader, backend: str) -> SweepQuery:
    raw = reader.data[backend]
    entry = YamlReader(
        {"template": raw} if isinstance(raw, str) else raw, reader.location, reader.path, reader.source
    )
    template = entry.text("template")
    if "{values}" not in template:
        entry.fail("must contain the {values} placeholder", f"{backend}.template")
    patterns = entry.texts("patterns") if "patterns" in entry.data else ("{value}",)
    if not all("{value}" in p for p in patterns):
        entry.fail("every pattern must contain {value}", f"{backend}.patterns")
    return SweepQuery(backend, template, patterns)


def _sweep(reader: YamlReader) -> SweepTemplate:
    sweep_id = reader.text("id")
    if not SWEEP_ID.match(sweep_id):
        reader.fail(f"{sweep_id!r} does not match {SWEEP_ID.pattern}", "id")
    kinds = reader.texts("kinds")
    valid = {kind.value for kind in IndicatorKind}
    if not set(kinds) <= valid:
        reader.fail(f"unknown kinds {sorted(set(kinds) - valid)}; valid: {sorted(valid)}", "kinds")
    queries = reader.child("queries")
    queries.backends(QUERY_LANGUAGES)
    return SweepTemplate(
        id=sweep_id,
        title=reader.text("title"),
        description=reader.text("description"),
        phase=reader.choice("phase", PHASES),
        kinds=tuple(IndicatorKind(k) for k in kinds),
        queries=tuple(_sweep_query(queries, backend) for backend in queries.data),
    )


def load_sweeps(path: Path | None = None) -> SweepTemplates:
    """Load and validate the IOC-sweep templates (default: the packaged `sweeps.yaml`)."""
    if path is None:
        return _packaged_sweeps()
    text = read_text(path)
    reader = YamlReader(yaml_mapping(text, str(path)), str(path), text=text)
    max_values = reader.data.get("max_values_per_query", 500)
    if not isinstance(max_values, int) or isinstance(max_values, bool) or not 1 <= max_values <= 10_000:
        reader.fail("must be an integer from 1 to 10000", "max_values_per_query")
    entries = reader.data.get("sweeps")
    if not isinstance(entries, list) or not entries:
        reader.fail("must be a non-empty list", "sweeps")
    templates = tuple(_sweep(YamlReader(e, str(path), f"sweeps[{i}]", text)) for i, e in enumerate(entries))
    ids = [t.id for t in templates]
    if len(set(ids)) != len(ids):
        reader.fail(f"duplicate ids: {sorted({i for i in ids if ids.count(i) > 1})}", "sweeps")
    return SweepTemplates(templates, max_values)


@lru_cache(maxsize=1)
def _packaged_sweeps() -> SweepTemplates:
    return load_sweeps(DATA_DIR / "sweeps.yaml")
