"""The severity model: weighted signals, level thresholds and threat-report gate cues, validated at load.

The data lives in `data/severity.yaml`; `huntbrief.toml [severity]` may override any value.
This module loads and merges it; the types are in `severity_model`, the validation in `severity_build`,
and both are re-exported here.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

from huntbrief.catalog.datafile import yaml_mapping
from huntbrief.catalog.severity_build import (
    CUE_KEYS,
    LEVEL_KEYS,
    SECTIONS,
    URGENT_SIGNALS,
    WEIGHT_KEYS,
    build_model,
)
from huntbrief.catalog.severity_model import (
    Concepts,
    Gate,
    GateKind,
    SeverityModel,
    concepts_pattern,
    phrase_pattern,
)
from huntbrief.errors import CatalogError

__all__ = [
    "CUE_KEYS",
    "DEFAULT_PATH",
    "LEVEL_KEYS",
    "OVERRIDES_LOCATION",
    "URGENT_SIGNALS",
    "WEIGHT_KEYS",
    "Concepts",
    "Gate",
    "GateKind",
    "SeverityModel",
    "build_model",
    "concepts_pattern",
    "load_severity",
    "phrase_pattern",
]

DEFAULT_PATH = Path(__file__).with_name("data") / "severity.yaml"
OVERRIDES_LOCATION = "huntbrief.toml [severity]"


def _merge(base: Mapping[str, Any], overrides: Mapping[str, Any], path: str = "") -> dict[str, Any]:
    merged = dict(base)
    for key, value in overrides.items():
        where = f"{path}.{key}" if path else str(key)
        if not path and key not in SECTIONS:
            raise CatalogError(f"{where}: unknown section; valid: {', '.join(SECTIONS)}", OVERRIDES_LOCATION)
        if isinstance(value, Mapping) and isinstance(base.get(key), Mapping):
            merged[key] = _merge(base[key], value, where)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def _read(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CatalogError(f"cannot read: {exc}", location=str(path)) from exc
    return yaml_mapping(text, str(path))


def load_severity(path: Path | None = None, overrides: Mapping[str, Any] | None = None) -> SeverityModel:
    """Load and validate the severity model (default: packaged), then apply `overrides` on top.

    Errors in the file name the file; errors from `overrides` carry location "huntbrief.toml [severity]".
    """
    if path is None and not overrides:
        return _packaged()
    source = path or DEFAULT_PATH
    raw = _read(source)
    model = build_model(raw, str(source))
    if not overrides:
        return model
    if not isinstance(overrides, Mapping):
        raise CatalogError("must be a table", OVERRIDES_LOCATION)
    return build_model(_merge(raw, overrides), OVERRIDES_LOCATION)


@lru_cache(maxsize=1)
def _packaged() -> SeverityModel:
    return build_model(_read(DEFAULT_PATH), str(DEFAULT_PATH))
