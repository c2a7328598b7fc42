"""Use cases (hand-written hunt recipes) and IOC-sweep templates, typed and validated at load.

One YAML file per use case lives in `data/usecases/`; sweep templates live in `data/sweeps.yaml`.
A use case's `samples` are flat events (CIM fields such as `Processes.process_name` and Defender
columns such as `FileName` side by side) that its per-event filter logic should or should not match;
aggregation thresholds (counts over a time window) are not represented by a single sample.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, fields
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any, NoReturn

from huntbrief.catalog.datafile import key_line, yaml_mapping
from huntbrief.errors import CatalogError
from huntbrief.model import Confidence, IndicatorKind

DATA_DIR = Path(__file__).with_name("data")
PHASES = (
    "reconnaissance",
    "weaponization",
    "delivery",
    "exploitation",
    "installation",
    "command-and-control",
    "actions-on-objectives",
)
# The one table of query backends known to the catalogue: backend name -> query language.
QUERY_LANGUAGES: Mapping[str, str] = MappingProxyType({"splunk": "spl", "kql": "kql"})
CONFIDENCES: Mapping[str, Confidence] = MappingProxyType(
    {"High": Confidence.HIGH, "Medium": Confidence.MEDIUM, "Low": Confidence.LOW}
)
USECASE_ID = re.compile(r"^UC_[A-Z0-9_]+$")
SWEEP_ID = re.compile(r"^SWEEP_[A-Z0-9_]+$")
TECHNIQUE_ID = re.compile(r"^T\d{4}(?:\.\d{3})?$")
SampleValue = str | int | float | bool


@dataclass(frozen=True, slots=True)
class SampleEvent:
    """One flat sample event: (field, value) pairs in file order."""

    fields: tuple[tuple[str, SampleValue], ...]

    def as_dict(self) -> dict[str, SampleValue]:
        """The event as a new plain dict."""
        return dict(self.fields)


@dataclass(frozen=True, slots=True)
class UseCase:
    """A named hunt: ATT&CK techniques, kill-chain phase, confidence and one query per backend."""

    id: str
    title: str
    description: str
    techniques: tuple[str, ...]
    phase: str
    confidence: Confidence
    confidence_rule: str
    data_sources: tuple[str, ...]
    false_positives: tuple[str, ...]
    queries: tuple[tuple[str, str], ...]
    samples_match: tuple[SampleEvent, ...]
    samples_no_match: tuple[SampleEvent, ...]

    def query(self, backend: str) -> str | None:
        """The query text for `backend`, or None when the use case has none."""
        return dict(self.queries).get(backend)


class UseCaseLibrary:
    """Read-only index of use cases by id and by ATT&CK technique."""

    __slots__ = ("_by_id", "_by_technique")

    def __init__(self, usecases: Iterable[UseCase]) -> None:
        self._by_id: dict[str, UseCase] = {}
        self._by_technique: dict[str, list[UseCase]] = {}
        for usecase in usecases:
            if usecase.id in self._by_id:
                raise ValueError(f"duplicate use case id {usecase.id}")
            self._by_id[usecase.id] = usecase
            for technique in usecase.techniques:
                self._by_technique.setdefault(technique, []).append(usecase)

    def __len__(self) -> int:
        return len(self._by_id)

    def __iter__(self) -> Iterator[UseCase]:
        return iter(self._by_id.values())

    def __contains__(self, usecase_id: object) -> bool:
        return usecase_id in self._by_id

    def get(self, usecase_id: str) -> UseCase:
        """The use case with that id; KeyError when there is none."""
        return self._by_id[usecase_id]

    def for_technique(self, technique_id: str) -> tuple[UseCase, ...]:
        """Use cases tagged with this exact technique or, for a sub-technique, with its parent."""
        found = list(self._by_technique.get(technique_id, ()))
        parent = technique_id.split(".", 1)[0]
        if parent != technique_id:
            found += [uc for uc in self._by_technique.get(parent, ()) if uc not in found]
        return tuple(found)

    def narrower(self, technique_id: str) -> tuple[UseCase, ...]:
        """Use cases tagged only with sub-techniques of this parent technique (empty for a sub-technique)."""
        if "." in technique_id:
            return ()
        direct = self.for_technique(technique_id)
        prefix = technique_id + "."
        found: list[UseCase] = []
        for technique, usecases in sorted(self._by_technique.items()):
            if technique.startswith(prefix):
                found += [uc for uc in usecases if uc not in found and uc not in direct]
        return tuple(found)


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


class _Reader:
    """Typed access to one YAML mapping, raising CatalogError with the file and key path."""

    def __init__(self, data: object, location: str, path: str = "", text: str = "") -> None:
        self.location, self.path, self.source = location, path, text
        if not isinstance(data, Mapping):
            self.fail("must be a mapping")
        self.data: Mapping[str, Any] = data

    def fail(self, message: str, key: str | None = None) -> NoReturn:
        where = ".".join(p for p in (self.path, key or "") if p) or "<top>"
        line = key_line(self.source, re.sub(r"\[\d+\]", "", where.rsplit(".", 1)[-1])) if self.source else 0
        raise CatalogError(
            f"{where}: {message}", location=f"{self.location}:{line}" if line else self.location
        )

    def get(self, key: str) -> Any:
        if key not in self.data:
            self.fail("is required", key)
        return self.data[key]

    def text(self, key: str) -> str:
        value = self.get(key)
        if not isinstance(value, str) or not value.strip():
            self.fail("must be a non-empty string", key)
        return value.strip()

    def texts(self, key: str) -> tuple[str, ...]:
        value = self.get(key)
        if not isinstance(value, list) or not value:
            self.fail("must be a non-empty list of strings", key)
        if not all(isinstance(v, str) and v.strip() for v in value):
            self.fail("every entry must be a non-empty string", key)
        return tuple(v.strip() for v in value)

    def choice(self, key: str, allowed: Collection[str]) -> str:
        value = self.text(key)
        if value not in allowed:
            self.fail(f"{value!r} is not one of {', '.join(allowed)}", key)
        return value

    def child(self, key: str) -> _Reader:
        path = ".".join(p for p in (self.path, key) if p)
        return _Reader(self.get(key), self.location, path, self.source)

    def only(self, allowed: Collection[str]) -> None:
        if unknown := sorted(set(self.data) - set(allowed)):
            self.fail(f"unknown keys {unknown}; allowed: {', '.join(allowed)}")

    def backends(self) -> None:
        if not self.data:
            self.fail("must name at least one backend")
        self.only(QUERY_LANGUAGES)


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CatalogError(f"cannot read: {exc}", location=str(path)) from exc


def _samples(reader: _Reader, queries: Mapping[str, str]) -> tuple[tuple[SampleEvent, ...], ...]:
    samples = reader.child("samples")
    samples.only(("match", "no_match"))
    result = []
    for key in ("match", "no_match"):
        events = samples.data.get(key)
        if not isinstance(events, list) or not events:
            samples.fail("must be a non-empty list of flat events", key)
        result.append(tuple(_sample(samples, f"{key}[{i}]", e, queries) for i, e in enumerate(events)))
    return result[0], result[1]


def _sample(reader: _Reader, key: str, event: object, queries: Mapping[str, str]) -> SampleEvent:
    if not isinstance(event, Mapping) or not event:
        reader.fail("must be a non-empty mapping of field to value", key)
    for field, value in event.items():
        if not isinstance(field, str) or not isinstance(value, str | int | float | bool):
            reader.fail(f"field {field!r} must map a name to a scalar", key)
        read = re.compile(rf"(?<![\w.]){re.escape(str(field))}(?!\w)")
        if not any(read.search(text) for text in queries.values()):
            reader.fail(f"field {field!r} is not read by any of the queries", key)
    return SampleEvent(tuple(event.items()))


def _techniques(reader: _Reader, known: Collection[str] | None) -> tuple[str, ...]:
    techniques = reader.texts("techniques")
    for technique in techniques:
        if not TECHNIQUE_ID.match(technique):
            reader.fail(f"{technique!r} is not an ATT&CK technique ID like T1543 or T1543.003", "techniques")
        if known is not None and technique not in known:
            reader.fail(f"{technique} is not in the ATT&CK catalogue", "techniques")
    return techniques


def _queries(reader: _Reader) -> dict[str, str]:
    queries = reader.child("queries")
    queries.backends()
    return {backend: queries.text(backend) for backend in queries.data}


def parse_usecase(text: str, location: str, known: Collection[str] | None = None) -> UseCase:
    """Parse and validate one use-case YAML document; CatalogError names file:line and the key path."""
    reader = _Reader(yaml_mapping(text, location), location, text=text)
    reader.only([f.name for f in fields(UseCase) if not f.name.startswith("samples_")] + ["samples"])
    if not USECASE_ID.match(str(reader.get("id"))):
        reader.fail(f"{reader.data['id']!r} does not match {USECASE_ID.pattern}", "id")
    queries = _queries(reader)
    match, no_match = _samples(reader, queries)
    return UseCase(
        id=reader.text("id"),
        title=reader.text("title"),
        description=reader.text("description"),
        techniques=_techniques(reader, known),
        phase=reader.choice("phase", PHASES),
        confidence=CONFIDENCES[reader.choice("confidence", CONFIDENCES)],
        confidence_rule=reader.text("confidence_rule"),
        data_sources=reader.texts("data_sources"),
        false_positives=reader.texts("false_positives"),
        queries=tuple(queries.items()),
        samples_match=match,
        samples_no_match=no_match,
    )


def load_usecases(
    directory: Path | None = None, known_techniques: Collection[str] | None = None
) -> UseCaseLibrary:
    """Load and validate every `*.yaml` use case in `directory` (default: the packaged set)."""
    if directory is None and known_techniques is None:
        return _packaged_usecases()
    folder = directory or DATA_DIR / "usecases"
    files = sorted(folder.glob("*.yaml"))
    if not files:
        raise CatalogError("no use-case files (*.yaml) found", location=str(folder))
    seen: dict[str, Path] = {}
    usecases = []
    for path in files:
        usecase = parse_usecase(_read(path), str(path), known_techniques)
        if usecase.id in seen:
            raise CatalogError(f"id: {usecase.id} is already defined in {seen[usecase.id]}", str(path))
        seen[usecase.id] = path
        usecases.append(usecase)
    return UseCaseLibrary(usecases)


@lru_cache(maxsize=1)
def _packaged_usecases() -> UseCaseLibrary:
    return load_usecases(DATA_DIR / "usecases")


def _sweep_query(reader: _Reader, backend: str) -> SweepQuery:
    raw = reader.data[backend]
    entry = _Reader(
        {"template": raw} if isinstance(raw, str) else raw, reader.location, reader.path, reader.source
    )
    template = entry.text("template")
    if "{values}" not in template:
        entry.fail("must contain the {values} placeholder", f"{backend}.template")
    patterns = entry.texts("patterns") if "patterns" in entry.data else ("{value}",)
    if not all("{value}" in p for p in patterns):
        entry.fail("every pattern must contain {value}", f"{backend}.patterns")
    return SweepQuery(backend, template, patterns)


def _sweep(reader: _Reader) -> SweepTemplate:
    sweep_id = reader.text("id")
    if not SWEEP_ID.match(sweep_id):
        reader.fail(f"{sweep_id!r} does not match {SWEEP_ID.pattern}", "id")
    kinds = reader.texts("kinds")
    valid = {kind.value for kind in IndicatorKind}
    if not set(kinds) <= valid:
        reader.fail(f"unknown kinds {sorted(set(kinds) - valid)}; valid: {sorted(valid)}", "kinds")
    queries = reader.child("queries")
    queries.backends()
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
    text = _read(path)
    reader = _Reader(yaml_mapping(text, str(path)), str(path), text=text)
    max_values = reader.data.get("max_values_per_query", 500)
    if not isinstance(max_values, int) or isinstance(max_values, bool) or not 1 <= max_values <= 10_000:
        reader.fail("must be an integer from 1 to 10000", "max_values_per_query")
    entries = reader.data.get("sweeps")
    if not isinstance(entries, list) or not entries:
        reader.fail("must be a non-empty list", "sweeps")
    templates = tuple(_sweep(_Reader(e, str(path), f"sweeps[{i}]", text)) for i, e in enumerate(entries))
    ids = [t.id for t in templates]
    if len(set(ids)) != len(ids):
        reader.fail(f"duplicate ids: {sorted({i for i in ids if ids.count(i) > 1})}", "sweeps")
    return SweepTemplates(templates, max_values)


@lru_cache(maxsize=1)
def _packaged_sweeps() -> SweepTemplates:
    return load_sweeps(DATA_DIR / "sweeps.yaml")
