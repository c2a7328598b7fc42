"""SIEM query backends: ONE name -> class table, and use cases compiled into each backend's query.

A backend converts a use case's Sigma-style detection into its query language; hand-written
per-backend queries always win over conversion. A backend whose optional dependency (pySigma and
its backend package) is missing disables its Sigma conversion with one log line. pySigma is
imported lazily, converts in memory and makes no network call.

The backend classes and our fixes to pySigma's output live in siem_backends.py, their shared
conversion core in siem_sigma.py; every name is re-exported here.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from functools import lru_cache
from types import MappingProxyType

from huntbrief.adapters.siem_backends import (
    SYSMON_EVENT_CODES,
    DefenderXdr,
    ElasticEsql,
    SentinelAsim,
    SplunkCim,
    SplunkPlain,
    fix_kql,
)
from huntbrief.adapters.siem_sigma import PORT_FIELDS, SigmaBackend
from huntbrief.catalog.usecases import UseCase, UseCaseLibrary, load_usecases
from huntbrief.errors import BackendError, ConfigError

__all__ = [
    "BACKENDS",
    "PORT_FIELDS",
    "SYSMON_EVENT_CODES",
    "Converter",
    "DefenderXdr",
    "ElasticEsql",
    "SentinelAsim",
    "SigmaBackend",
    "SplunkCim",
    "SplunkPlain",
    "compile_usecases",
    "fix_kql",
    "load_backends",
    "packaged_usecases",
]

log = logging.getLogger(__name__)

BACKENDS: Mapping[str, type[SigmaBackend]] = MappingProxyType(
    {
        "splunk": SplunkCim,
        "splunk_plain": SplunkPlain,
        "kql": DefenderXdr,
        "sentinel": SentinelAsim,
        "elastic": ElasticEsql,
    }
)


def load_backends(names: Iterable[str]) -> tuple[SigmaBackend, ...]:
    """Instances for `names`; ConfigError naming the valid ones for an unknown name."""
    names = tuple(names)
    if unknown := [n for n in names if n not in BACKENDS]:
        raise ConfigError(
            f"unknown query backend(s) {', '.join(unknown)}; valid: {', '.join(BACKENDS)}", "backends"
        )
    return tuple(BACKENDS[n]() for n in names)


Converter = Callable[[SigmaBackend, UseCase], str]


def _convert(backend: SigmaBackend, usecase: UseCase) -> str:
    return backend.convert(usecase.sigma, usecase.id)


def compile_usecases(
    library: UseCaseLibrary, names: Sequence[str], convert: Converter = _convert
) -> UseCaseLibrary:
    """A new library whose use cases carry a query for each backend that can express them.

    Hand-written queries are kept; Sigma detections are converted for the other backends. A
    conversion failure leaves that backend out for that use case and is logged with its reason.
    """
    backends = load_backends(names)
    usable = []
    for backend in backends:
        if backend.available():
            usable.append(backend)
        else:
            log.warning(
                "backend %s: pySigma or its backend package is missing; Sigma conversion disabled",
                backend.name,
            )
    compiled = []
    for usecase in library:
        queries = dict(usecase.queries)
        for backend in usable if usecase.sigma else ():
            if backend.name in queries:
                continue
            try:
                queries[backend.name] = convert(backend, usecase)
            except BackendError as exc:
                log.info("use case %s left out of %s: %s", usecase.id, backend.name, exc.message)
        compiled.append(replace(usecase, queries=tuple(queries.items())))
    return UseCaseLibrary(compiled)


@lru_cache(maxsize=8)
def packaged_usecases(names: tuple[str, ...]) -> UseCaseLibrary:
    """The packaged use-case library compiled for `names` (converted once per process)."""
    return compile_usecases(load_usecases(), names)
