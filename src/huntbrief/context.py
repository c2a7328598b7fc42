"""Load the read-only catalogues once, at start-up, into an AnalysisContext."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

from platformdirs import user_cache_dir

from huntbrief.adapters.siem import packaged_usecases
from huntbrief.catalog.attack import load_attack_catalog
from huntbrief.catalog.attack_crosswalk import load_attack_crosswalk
from huntbrief.catalog.kev import default_user_path, load_kev
from huntbrief.catalog.killchain import load_kill_chain
from huntbrief.catalog.noise import load_noise
from huntbrief.catalog.relevance import load_relevance
from huntbrief.catalog.severity import load_severity
from huntbrief.catalog.sweeps import load_sweeps
from huntbrief.catalog.technique_aliases import load_technique_aliases
from huntbrief.catalog.technique_model import load_technique_model
from huntbrief.catalog.usecases import UseCaseLibrary
from huntbrief.errors import CatalogError, ConfigError
from huntbrief.pipeline import DEFAULT_BACKENDS, AnalysisContext

log = logging.getLogger(__name__)


def default_cache_dir() -> Path:
    """Where compiled user content (Sigma rules) is cached between runs."""
    return Path(user_cache_dir("huntbrief", appauthor=False))


@lru_cache(maxsize=4)
def sigma_library(folder: Path, backends: tuple[str, ...], cache_dir: Path | None) -> UseCaseLibrary:
    """The SigmaHQ rules below `folder` compiled for `backends` (cached on disk and per process)."""
    from huntbrief.adapters.kql_check import KqlChecker
    from huntbrief.adapters.sigma_rules import load_sigma_rules

    attack = load_attack_catalog()
    loaded = load_sigma_rules(
        folder,
        backends,
        attack,
        load_kill_chain(attack),
        load_attack_crosswalk(attack),
        cache_dir=cache_dir,
        kql=KqlChecker.find(),
    )
    log.info(
        "Sigma rules in %s: %d files, %d usable as hunts, %d skipped, %d rule/backend pairs left out%s",
        folder,
        loaded.files,
        len(loaded.library),
        len(loaded.skipped),
        loaded.left_out,
        " (from cache)" if loaded.from_cache else "",
    )
    return loaded.library


def load_context(
    *,
    severity_overrides: Mapping[str, Any] | None = None,
    location: str = "huntbrief.toml",
    backends: tuple[str, ...] = DEFAULT_BACKENDS,
    kev_path: Path | None = None,
    sigma_rules: Path | None = None,
    sigma_cache: Path | None = None,
) -> AnalysisContext:
    """Load and validate every packaged catalogue; bad user overrides are a ConfigError.

    KEV comes from `kev_path` (default: the user data directory) when newer than the packaged snapshot.
    `sigma_rules` is a folder of SigmaHQ rules to offer as hunts too (compiled once, cached in
    `sigma_cache`, default the user cache directory).
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
        sigma=(
            sigma_library(
                sigma_rules.resolve(), tuple(backends), sigma_cache or default_cache_dir() / "sigma"
            )
            if sigma_rules is not None
            else None
        ),
    )
