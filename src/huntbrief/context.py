"""Load the read-only catalogues once, at start-up, into an AnalysisContext."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from huntbrief.catalog.attack import load_attack_catalog
from huntbrief.catalog.killchain import load_kill_chain
from huntbrief.catalog.noise import load_noise
from huntbrief.catalog.severity import load_severity
from huntbrief.catalog.sweeps import load_sweeps
from huntbrief.catalog.technique_aliases import load_technique_aliases
from huntbrief.catalog.usecases import load_usecases
from huntbrief.errors import CatalogError, ConfigError
from huntbrief.pipeline import DEFAULT_BACKENDS, AnalysisContext


def load_context(
    *,
    severity_overrides: Mapping[str, Any] | None = None,
    location: str = "huntbrief.toml",
    backends: tuple[str, ...] = DEFAULT_BACKENDS,
) -> AnalysisContext:
    """Load and validate every packaged catalogue; bad user overrides are a ConfigError."""
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
        usecases=load_usecases(),
        sweeps=load_sweeps(),
        severity=severity,
        backends=backends,
    )
