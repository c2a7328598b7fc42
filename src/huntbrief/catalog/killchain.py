"""The ATT&CK tactic -> Lockheed Martin kill-chain mapping and narrative phase cues, validated at load."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any

from huntbrief.catalog.attack import AttackCatalog
from huntbrief.catalog.datafile import compile_pattern, key_line, yaml_mapping
from huntbrief.errors import CatalogError

PACKAGED_NAME = "killchain.yaml"


@dataclass(frozen=True, slots=True)
class PhaseCue:
    """A precompiled, case-insensitive regex whose match in an article suggests `phase`."""

    phase: str
    pattern: re.Pattern[str]


@dataclass(frozen=True, slots=True)
class KillChainMapping:
    """Ordered kill-chain phases, the phase of each ATT&CK tactic, and narrative cues."""

    phases: tuple[str, ...]
    tactic_phase: Mapping[str, str]
    cues: tuple[PhaseCue, ...]

    def phase_of(self, tactic: str) -> str | None:
        """The kill-chain phase of an ATT&CK tactic shortname, or None if unmapped."""
        return self.tactic_phase.get(tactic)

    def ordered(self, phases: set[str] | frozenset[str]) -> tuple[str, ...]:
        """The given phases in kill-chain order (unknown names are dropped)."""
        return tuple(p for p in self.phases if p in phases)


def load_kill_chain(catalog: AttackCatalog, path: Path | None = None) -> KillChainMapping:
    """Load the packaged (path None) or a given killchain.yaml, checked against `catalog`'s tactics.

    Raises CatalogError (file, and line where known) on an unknown tactic or phase, a bad regex,
    or a catalogue tactic that has no phase.
    """
    if path is None:
        resource = resources.files("huntbrief.catalog").joinpath("data", PACKAGED_NAME)
        return kill_chain_from_text(
            resource.read_text(encoding="utf-8"), catalog, f"huntbrief/{PACKAGED_NAME}"
        )
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise CatalogError(f"cannot read kill-chain mapping: {exc}", location=str(path)) from exc
    return kill_chain_from_text(text, catalog, str(path))


def kill_chain_from_text(text: str, catalog: AttackCatalog, location: str) -> KillChainMapping:
    """Parse and validate kill-chain YAML text; never reads files."""
    data = yaml_mapping(text, location)
    phases = data.get("phases")
    if not isinstance(phases, list) or not phases or not all(isinstance(p, str) for p in phases):
        raise CatalogError("'phases' must be a non-empty list of names", location=location)
    if len(set(phases)) != len(phases):
        raise CatalogError("'phases' lists a phase twice", location=location)
    return KillChainMapping(
        phases=tuple(phases),
        tactic_phase=MappingProxyType(_tactic_phases(data, set(phases), catalog, text, location)),
        cues=_cues(data, set(phases), text, location),
    )


def _tactic_phases(
    data: Mapping[str, Any], phases: set[str], catalog: AttackCatalog, text: str, location: str
) -> dict[str, str]:
    raw = data.get("tactics")
    if not isinstance(raw, dict):
        raise CatalogError("'tactics' must map tactic shortnames to phases", location=location)
    known = {t.shortname for t in catalog.tactics}
    for tactic, phase in raw.items():
        where = f"{location}:{key_line(text, str(tactic))}"
        if tactic not in known:
            raise CatalogError(f"unknown ATT&CK tactic '{tactic}' (known: {sorted(known)})", location=where)
        if phase not in phases:
            raise CatalogError(f"tactic '{tactic}': unknown phase '{phase}'", location=where)
    missing = sorted(known - set(raw))
    if missing:
        raise CatalogError(f"ATT&CK tactics without a kill-chain phase: {missing}", location=location)
    return {str(k): str(v) for k, v in raw.items()}


def _cues(data: Mapping[str, Any], phases: set[str], text: str, location: str) -> tuple[PhaseCue, ...]:
    raw = data.get("cues", {})
    if not isinstance(raw, dict):
        raise CatalogError("'cues' must map phases to lists of regexes", location=location)
    out: list[PhaseCue] = []
    for phase, patterns in raw.items():
        where = f"{location}:{key_line(text, str(phase))}"
        if phase not in phases:
            raise CatalogError(f"cues: unknown phase '{phase}'", location=where)
        if not isinstance(patterns, list) or not all(isinstance(p, str) for p in patterns):
            raise CatalogError(f"cues for '{phase}' must be a list of regex strings", location=where)
        out.extend(PhaseCue(phase, compile_pattern(p, where)) for p in patterns)
    return tuple(out)
