"""ATT&CK IDs of a newer release mapped to the catalogue's techniques (`data/attack_crosswalk.yaml`).

Used where outside content (SigmaHQ rule tags) is written against a newer ATT&CK than the one
huntbrief ships. Validated at load: every target must exist in the given catalogue.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

from huntbrief.catalog.attack import AttackCatalog
from huntbrief.catalog.datafile import key_line, yaml_mapping
from huntbrief.catalog.usecases import TECHNIQUE_ID
from huntbrief.catalog.yaml_reader import read_text
from huntbrief.errors import CatalogError

DEFAULT_PATH = Path(__file__).with_name("data") / "attack_crosswalk.yaml"


@dataclass(frozen=True, slots=True)
class AttackCrosswalk:
    """Newer technique ID -> catalogue technique ID, then the catalogue's own revoked map."""

    mapping: Mapping[str, str]
    catalog: AttackCatalog

    def resolve(self, tid: str) -> str | None:
        """The catalogue technique for `tid` (any case, newer IDs and revoked IDs followed), or None."""
        key = tid.strip().upper()
        return self.catalog.resolve(self.mapping.get(key, key))


def load_attack_crosswalk(catalog: AttackCatalog, path: Path | None = None) -> AttackCrosswalk:
    """Load and check the crosswalk; CatalogError names the file and line of a bad entry."""
    where = path or DEFAULT_PATH
    text = read_text(where)
    data = yaml_mapping(text, str(where))
    raw = data.get("map")
    if not isinstance(raw, dict):
        raise CatalogError("`map` must be a mapping of technique IDs", location=str(where))
    mapping: dict[str, str] = {}
    for source, target in raw.items():
        at = f"{where}:{key_line(text, str(source))}"
        if not (isinstance(source, str) and TECHNIQUE_ID.match(source)):
            raise CatalogError(f"{source!r} is not a technique ID", location=at)
        if not isinstance(target, str) or catalog.resolve(target) is None:
            raise CatalogError(f"{source}: {target!r} is not a technique of ATT&CK {catalog.version}", at)
        mapping[source] = target
    return AttackCrosswalk(MappingProxyType(mapping), catalog)
