"""Use cases (hand-written hunt recipes), typed and validated at load.

One YAML file per use case lives in `data/usecases/`; IOC-sweep templates are in `sweeps.py`.
The detection logic is a Sigma-style `logsource` + `detection` (converted for every backend by
`adapters/siem.py`), hand-written per-backend `queries`, or both (a hand-written query wins).
A use case's `samples` are flat events (Sigma fields such as `Image`, CIM fields such as
`Processes.process_name` and Defender columns such as `FileName` side by side) that its per-event
filter logic should or should not match; aggregation thresholds are not represented by one sample.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, fields
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType

import yaml

from huntbrief.catalog.datafile import yaml_mapping
from huntbrief.catalog.yaml_reader import YamlReader, read_text
from huntbrief.errors import CatalogError
from huntbrief.model import Confidence

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
# splunk: SPL over CIM data models; splunk_plain: SPL over Sysmon / Windows event logs;
# kql: Microsoft Defender XDR advanced hunting; sentinel: Microsoft Sentinel (ASIM); elastic: ES|QL.
QUERY_LANGUAGES: Mapping[str, str] = MappingProxyType(
    {"splunk": "spl", "splunk_plain": "spl", "kql": "kql", "sentinel": "kql", "elastic": "esql"}
)
SIGMA_CATEGORIES = (
    "process_creation",
    "registry_set",
    "registry_add",
    "registry_event",
    "file_event",
    "network_connection",
    "dns_query",
    "image_load",
    "ps_script",
)
CONFIDENCES: Mapping[str, Confidence] = MappingProxyType(
    {"High": Confidence.HIGH, "Medium": Confidence.MEDIUM, "Low": Confidence.LOW}
)
USECASE_ID = re.compile(r"^UC_[A-Z0-9_]+$")
TECHNIQUE_ID = re.compile(r"^T\d{4}(?:\.\d{3})?$")
SampleValue = str | int | float | bool
_EXTRA_KEYS = ["samples", "logsource", "detection"]


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
    queries: tuple[tuple[str, str], ...]  # hand-written, plus converted ones once compiled
    samples_match: tuple[SampleEvent, ...]
    samples_no_match: tuple[SampleEvent, ...]
    sigma: str = ""  # YAML of a Sigma `logsource` + `detection`, converted per backend; "" for none
    kind: str = "usecase"  # "usecase" (ours) | "sigma" (a SigmaHQ rule)
    attribution: str = ""  # for SigmaHQ rules: rule id, title, author and licence

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


def _samples(reader: YamlReader, queries: Collection[str]) -> tuple[tuple[SampleEvent, ...], ...]:
    samples = reader.child("samples")
    samples.only(("match", "no_match"))
    result = []
    for key in ("match", "no_match"):
        events = samples.data.get(key)
        if not isinstance(events, list) or not events:
            samples.fail("must be a non-empty list of flat events", key)
        result.append(tuple(_sample(samples, f"{key}[{i}]", e, queries) for i, e in enumerate(events)))
    return result[0], result[1]


def _sample(reader: YamlReader, key: str, event: object, queries: Collection[str]) -> SampleEvent:
    if not isinstance(event, Mapping) or not event:
        reader.fail("must be a non-empty mapping of field to value", key)
    for field, value in event.items():
        if not isinstance(field, str) or not isinstance(value, str | int | float | bool):
            reader.fail(f"field {field!r} must map a name to a scalar", key)
        read = re.compile(rf"(?<![\w.]){re.escape(str(field))}(?!\w)")
        if not any(read.search(text) for text in queries):
            reader.fail(f"field {field!r} is not read by any of the queries", key)
    return SampleEvent(tuple(event.items()))


def _techniques(reader: YamlReader, known: Collection[str] | None) -> tuple[str, ...]:
    techniques = reader.texts("techniques")
    for technique in techniques:
        if not TECHNIQUE_ID.match(technique):
            reader.fail(f"{technique!r} is not an ATT&CK technique ID like T1543 or T1543.003", "techniques")
        if known is not None and technique not in known:
            reader.fail(f"{technique} is not in the ATT&CK catalogue", "techniques")
    return techniques


def _queries(reader: YamlReader) -> dict[str, str]:
    if "queries" not in reader.data:
        if "detection" not in reader.data:
            reader.fail("needs a Sigma-style detection, hand-written queries, or both", "queries")
        return {}
    queries = reader.child("queries")
    queries.backends(QUERY_LANGUAGES)
    return {backend: queries.text(backend) for backend in queries.data}


def _sigma(reader: YamlReader) -> tuple[str, tuple[str, ...]]:
    """The canonical YAML of `logsource` + `detection` and the field names the detection reads."""
    if "detection" not in reader.data:
        if "logsource" in reader.data:
            reader.fail("is only allowed together with a detection", "logsource")
        return "", ()
    logsource = reader.child("logsource")
    logsource.only(("category", "product", "service"))
    logsource.choice("category", SIGMA_CATEGORIES)
    detection = reader.child("detection")
    condition = detection.text("condition")
    fields = []
    for name, selection in detection.data.items():
        if name == "condition":
            continue
        if not re.fullmatch(r"[a-z_][a-z0-9_]*", str(name)) or str(name) not in condition:
            detection.fail("selection names must be lower_snake_case and used by the condition", str(name))
        maps = selection if isinstance(selection, list) else [selection]
        if not maps or not all(isinstance(m, Mapping) and m for m in maps):
            detection.fail("must be a mapping (or list of mappings) of field|modifier to values", str(name))
        fields += [str(key).split("|", 1)[0] for m in maps for key in m]
    logic = {"logsource": dict(logsource.data), "detection": dict(detection.data)}
    return yaml.safe_dump(logic, sort_keys=False, allow_unicode=True), tuple(dict.fromkeys(fields))


def parse_usecase(text: str, location: str, known: Collection[str] | None = None) -> UseCase:
    """Parse and validate one use-case YAML document; CatalogError names file:line and the key path."""
    reader = YamlReader(yaml_mapping(text, location), location, text=text)
    own = [f.name for f in fields(UseCase) if not f.name.startswith("samples_")]
    reader.only([n for n in own if n not in ("sigma", "kind", "attribution")] + _EXTRA_KEYS)
    if not USECASE_ID.match(str(reader.get("id"))):
        reader.fail(f"{reader.data['id']!r} does not match {USECASE_ID.pattern}", "id")
    queries = _queries(reader)
    sigma, sigma_fields = _sigma(reader)
    match, no_match = _samples(reader, [*queries.values(), *(f"{f} " for f in sigma_fields)])
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
        sigma=sigma,
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
        usecase = parse_usecase(read_text(path), str(path), known_techniques)
        if usecase.id in seen:
            raise CatalogError(f"id: {usecase.id} is already defined in {seen[usecase.id]}", str(path))
        seen[usecase.id] = path
        usecases.append(usecase)
    return UseCaseLibrary(usecases)


@lru_cache(maxsize=1)
def _packaged_usecases() -> UseCaseLibrary:
    return load_usecases(DATA_DIR / "usecases")
