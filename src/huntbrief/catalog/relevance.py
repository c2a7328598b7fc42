"""The relevance model ("does this sentence describe adversary activity?"): linear weights as data.

`data/relevance.json` is produced by `scripts/train_relevance.py` (fixed seeds, reproducible) and
validated here at load.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

from huntbrief.errors import CatalogError

PACKAGED_PATH = Path(__file__).with_name("data") / "relevance.json"
FORMAT_VERSION = 1


@dataclass(frozen=True, slots=True)
class RelevanceModel:
    """Logistic-regression weights per feature, a bias, and the probability that counts as 'activity'."""

    weights: Mapping[str, float]
    bias: float
    sentence_threshold: float
    metadata: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Relevance:
    """How much an article reads like a threat report: share of activity sentences, and the counts."""

    share: float
    activity: int
    sentences: int


def _finite(value: object, what: str, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise CatalogError(f"{what} must be a finite number", where)
    return float(value)


def parse_relevance(raw: object, where: str) -> RelevanceModel:
    """Validate a parsed relevance.json mapping into a RelevanceModel; CatalogError names `where`."""
    if not isinstance(raw, Mapping) or raw.get("version") != FORMAT_VERSION:
        raise CatalogError(f"expected a JSON object with version {FORMAT_VERSION}", where)
    weights = raw.get("weights")
    if not isinstance(weights, Mapping) or not weights:
        raise CatalogError("weights must be a non-empty object of feature → number", where)
    checked = {str(k): _finite(v, f"weights[{k!r}]", where) for k, v in weights.items()}
    threshold = _finite(raw.get("sentence_threshold"), "sentence_threshold", where)
    if not 0.0 < threshold < 1.0:
        raise CatalogError("sentence_threshold must be between 0 and 1", where)
    metadata = raw.get("metadata", {})
    return RelevanceModel(
        weights=MappingProxyType(checked),
        bias=_finite(raw.get("bias"), "bias", where),
        sentence_threshold=threshold,
        metadata=MappingProxyType(dict(metadata) if isinstance(metadata, Mapping) else {}),
    )


def load_relevance(path: Path | None = None) -> RelevanceModel:
    """Load and validate the relevance model (default: the packaged one, loaded once)."""
    if path is None:
        return _packaged()
    return _read(path)


def _read(path: Path) -> RelevanceModel:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise CatalogError(f"cannot read: {exc}", str(path)) from exc
    except json.JSONDecodeError as exc:
        raise CatalogError(f"invalid JSON: {exc.msg}", f"{path}:{exc.lineno}") from exc
    return parse_relevance(raw, str(path))


@lru_cache(maxsize=1)
def _packaged() -> RelevanceModel:
    return _read(PACKAGED_PATH)
