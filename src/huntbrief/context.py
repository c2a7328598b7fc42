"""Load the read-only catalogues once, at start-up, into an AnalysisContext."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from huntbrief.adapters.siem import packaged_usecases
from huntbrief.catalog.attack import load_attack_catalog
from huntbrief.catalog.kev import default_user_path, load_kev
from huntbrief.catalog.killchain import load_kill_chain
from huntbrief.catalog.noise import load_noise
from huntbrief.catalog.relevance import load_relevance
from huntbrief.catalog.severity import load_severity
from huntbrief.catalog.sweeps import load_sweeps
from huntbrief.catalog.technique_aliases import load_technique_aliases
from huntbrief.catalog.technique_model import load_technique_model
from huntbrief.errors import CatalogError, ConfigError
from huntbrief.pipeline import DEFAULT_BACKENDS, AnalysisContext


def load_context(
    *,
    severity_overrides: Mapping[str, Any] | None = None,
    location: str = "huntbrief.toml",
    backends: tuple[str, ...] = DEFAULT_BACKENDS,
    kev_path: Path | None = None,
) -> AnalysisContext:
    """Load and validate every packaged catalogue; bad user overrides are a ConfigError.

    KEV comes from `kev_path` (default: the user data directory) when newer than the packaged snapshot.
    """
    attack = load_attack_catalog()
    try:
        severity = load_severity(overrides=severity_overrides or None)
    except CatalogError as exc:
        if severity_overrides:
            raise ConfigError(f"[severity]: {exc.message}", location=location) from exc
        raise
    return AnalysisContext(
        attack=attack,
        aliases=load_technique_aliases(attack),
        killchain=load_kill_chain(attack),
        noise=load_noise(),
        usecases=packaged_usecases(tuple(backends)),
        sweeps=load_sweeps(),
        severity=severity,
        kev=load_kev(kev_path or default_user_path()),
        relevance=load_relevance(),
        backends=backends,
        technique_model=load_technique_model(attack),
    )
