"""The ATT&CK Enterprise catalogue: techniques, tactics, revoked IDs, group and software names.

Loaded from the compact JSON that `scripts/build_attack.py` generates, or from a full STIX
bundle converted on the fly by `compact_from_stix` (the same function the script uses).
`huntbrief attack update` writes a newer catalogue into the user data directory; the loader
prefers that copy over the packaged one unless it is older or damaged.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any, TypeVar

from platformdirs import user_data_dir

from huntbrief.catalog.attack_stix import compact_from_stix
from huntbrief.errors import CatalogError

__all__ = [
    "AttackCatalog",
    "NamedEntity",
    "Tactic",
    "Technique",
    "compact_from_stix",
    "default_user_path",
    "load_attack_catalog",
    "render_compact",
]

PACKAGED_NAME = "attack-enterprise.json"
USER_FILE = "attack-enterprise.json"
log = logging.getLogger(__name__)
_TECHNIQUE_ID = re.compile(r"^T\d{4}(?:\.\d{3})?$")
_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class Tactic:
    """An ATT&CK tactic; `order` is its 1-based column in the Enterprise matrix."""

    id: str
    shortname: str
    name: str
    order: int


@dataclass(frozen=True, slots=True)
class Technique:
    """An ATT&CK technique or sub-technique; `tactics` holds tactic shortnames in matrix order."""

    id: str
    name: str
    tactics: tuple[str, ...]
    platforms: tuple[str, ...]
    data_sources: tuple[str, ...]
    parent: str | None
    is_subtechnique: bool


@dataclass(frozen=True, slots=True)
class NamedEntity:
    """A named ATT&CK group or software entry; `kind` is "group", "malware" or "tool"."""

    id: str
    name: str
    aliases: tuple[str, ...]
    kind: str

    @property
    def names(self) -> tuple[str, ...]:
        """The name followed by every alias."""
        return (self.name, *self.aliases)


@dataclass(frozen=True, slots=True)
class AttackCatalog:
    """Read-only ATT&CK knowledge: look techniques up by ID, following revoked IDs."""

    version: str
    source: str
    techniques: Mapping[str, Technique]
    tactics: tuple[Tactic, ...]
    revoked: Mapping[str, str]
    groups: Mapping[str, NamedEntity]
    software: Mapping[str, NamedEntity]
    location: str = field(default="", compare=False)  # the file it was loaded from (not part of equality)

    def resolve(self, tid: str) -> str | None:
        """The current technique ID for `tid` (any case, revoked IDs followed), or None if unknown."""
        key = tid.strip().upper().replace("/", ".")
        seen: set[str] = set()
        while key not in self.techniques and key in self.revoked and key not in seen:
            seen.add(key)
            key = self.revoked[key]
        return key if key in self.techniques else None

    def get(self, tid: str) -> Technique | None:
        """The technique for `tid` (case-insensitive, revoked IDs followed), or None."""
        key = self.resolve(tid)
        return self.techniques[key] if key else None

    def parent_of(self, tid: str) -> Technique | None:
        """The parent technique of a sub-technique, or None for a parent or unknown ID."""
        technique = self.get(tid)
        if technique is None or technique.parent is None:
            return None
        return self.techniques.get(technique.parent)

    def tactic_names(self, technique: Technique) -> tuple[str, ...]:
        """The display names of the technique's tactics, in matrix order."""
        by_short = {tactic.shortname: tactic.name for tactic in self.tactics}
        return tuple(by_short[s] for s in technique.tactics if s in by_short)

    def tactic(self, shortname: str) -> Tactic | None:
        """The tactic with that shortname (e.g. "initial-access"), or None."""
        return next((t for t in self.tactics if t.shortname == shortname), None)


def render_compact(compact: Mapping[str, Any]) -> str:
    """The canonical text of a compact catalogue: sorted keys, one-space indent, final newline."""
    return json.dumps(compact, sort_keys=True, indent=1, ensure_ascii=False) + "\n"


def default_user_path() -> Path:
    """Where `huntbrief attack update` keeps a newer catalogue (the platform's user data directory)."""
    return Path(user_data_dir("huntbrief", appauthor=False)) / USER_FILE


def load_attack_catalog(path: Path | None = None) -> AttackCatalog:
    """Load a compact JSON / STIX bundle file, or (path None) the catalogue in use, cached.

    The catalogue in use is the user's updated copy when it is valid and not older than the packaged
    one, else the packaged one. Raises CatalogError naming a given file that is unreadable or malformed.
    """
    if path is None:
        user = default_user_path()
        if not user.is_file():
            return _load_packaged()
        return _load_preferred(str(user), user.stat().st_mtime_ns)
    location = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise CatalogError(f"cannot read ATT&CK catalogue: {exc}", location=location) from exc
    return catalog_from_text(text, location)


@lru_cache(maxsize=2)
def _load_preferred(user_path: str, _mtime_ns: int) -> AttackCatalog:
    packaged = _load_packaged()
    try:
        user = load_attack_catalog(Path(user_path))
    except CatalogError as exc:
        log.warning("ignoring the updated ATT&CK catalogue (%s); run `huntbrief attack update` again", exc)
        return packaged
    return user if version_key(user.version) >= version_key(packaged.version) else packaged


def version_key(version: str) -> tuple[int, ...]:
    """A comparable key for an ATT&CK version such as "18.1" (non-numeric parts count as 0)."""
    return tuple(int(part) if part.isdigit() else 0 for part in re.split(r"[.\-]", version.lstrip("vV")))


@lru_cache(maxsize=1)
def _load_packaged() -> AttackCatalog:
    resource = resources.files("huntbrief.catalog").joinpath("data", PACKAGED_NAME)
    return catalog_from_text(resource.read_text(encoding="utf-8"), f"huntbrief/catalog/data/{PACKAGED_NAME}")


def catalog_from_text(text: str, location: str) -> AttackCatalog:
    """Parse compact-catalogue JSON or a STIX bundle into an AttackCatalog; never reads files."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CatalogError(f"invalid JSON: {exc.msg}", location=f"{location}:{exc.lineno}") from exc
    if not isinstance(data, dict):
        raise CatalogError("top level must be a JSON object", location=location)
    if data.get("type") == "bundle":
        try:
            data = compact_from_stix(data)
        except (KeyError, TypeError, ValueError) as exc:
            raise CatalogError(f"malformed STIX bundle: {exc!r}", location=location) from exc
    return catalog_from_compact(data, location)


def catalog_from_compact(data: Mapping[str, Any], location: str) -> AttackCatalog:
    """Validate a compact-catalogue dict and build the AttackCatalog; CatalogError names the problem."""
    tactics = tuple(
        Tactic(
            id=_field(raw, "id", str, "tactic", location),
            shortname=_field(raw, "shortname", str, "tactic", location),
            name=_field(raw, "name", str, "tactic", location),
            order=_field(raw, "order", int, "tactic", location),
        )
        for raw in _field(data, "tactics", list, "catalogue", location)
    )
    shortnames = {t.shortname for t in tactics}
    raw_techniques = _field(data, "techniques", dict, "catalogue", location)
    techniques = {tid: _technique(tid, raw, shortnames, location) for tid, raw in raw_techniques.items()}
    for technique in techniques.values():
        if technique.parent is not None and technique.parent not in techniques:
            raise CatalogError(f"technique {technique.id}: unknown parent {technique.parent}", location)
    revoked = _field(data, "revoked", dict, "catalogue", location)
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in revoked.items()):
        raise CatalogError("revoked: every entry must map an ID string to an ID string", location)
    return AttackCatalog(
        version=_field(data, "version", str, "catalogue", location),
        source=_field(data, "source", str, "catalogue", location),
        techniques=MappingProxyType(techniques),
        tactics=tuple(sorted(tactics, key=lambda t: t.order)),
        revoked=MappingProxyType(dict(revoked)),
        groups=_entities(data, "groups", location),
        software=_entities(data, "software", location),
        location=location,
    )


def _technique(tid: str, raw: Any, shortnames: set[str], location: str) -> Technique:
    where = f"technique {tid}"
    if not _TECHNIQUE_ID.match(tid):
        raise CatalogError(f"{where}: not a technique ID", location=location)
    if not isinstance(raw, dict):
        raise CatalogError(f"{where}: must be an object", location=location)
    tactics = tuple(_strings(raw, "tactics", where, location))
    unknown = [s for s in tactics if s not in shortnames]
    if unknown:
        raise CatalogError(f"{where}: unknown tactic(s) {unknown}", location=location)
    parent = raw.get("parent", ...)
    if parent is ... or not (parent is None or isinstance(parent, str)):
        raise CatalogError(f"{where}: 'parent' must be an ID or null", location=location)
    return Technique(
        id=tid,
        name=_field(raw, "name", str, where, location),
        tactics=tactics,
        platforms=tuple(_strings(raw, "platforms", where, location)),
        data_sources=tuple(_strings(raw, "data_sources", where, location)),
        parent=parent,
        is_subtechnique=_field(raw, "is_subtechnique", bool, where, location),
    )


def _entities(data: Mapping[str, Any], key: str, location: str) -> Mapping[str, NamedEntity]:
    out: dict[str, NamedEntity] = {}
    for eid, raw in _field(data, key, dict, "catalogue", location).items():
        where = f"{key} {eid}"
        if not isinstance(raw, dict):
            raise CatalogError(f"{where}: must be an object", location=location)
        kind = "group" if key == "groups" else _field(raw, "type", str, where, location)
        name = _field(raw, "name", str, where, location)
        out[eid] = NamedEntity(eid, name, tuple(_strings(raw, "aliases", where, location)), kind)
    return MappingProxyType(out)


def _field(raw: Mapping[str, Any], key: str, typ: type[_T], where: str, location: str) -> _T:
    if key not in raw:
        raise CatalogError(f"{where}: missing key '{key}'", location=location)
    value = raw[key]
    if not isinstance(value, typ) or (typ is int and isinstance(value, bool)):
        raise CatalogError(f"{where}: '{key}' must be {typ.__name__}", location=location)
    return value


def _strings(raw: Mapping[str, Any], key: str, where: str, location: str) -> list[str]:
    values = _field(raw, key, list, where, location)
    if not all(isinstance(v, str) for v in values):
        raise CatalogError(f"{where}: '{key}' must be a list of strings", location=location)
    return values
