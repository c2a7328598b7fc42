"""Shared helpers: every query huntbrief can emit, and the validators that must accept it.

`emitted_queries()` lists (id, backend, text) for every packaged use case (compiled for every
backend) and every sweep template rendered with hostile values for every backend it has.
"""

from __future__ import annotations

import shutil
from functools import lru_cache

import pytest

from huntbrief.adapters.kql_check import KqlChecker
from huntbrief.adapters.siem import BACKENDS, compile_usecases
from huntbrief.catalog.sweeps import load_sweeps
from huntbrief.catalog.usecases import UseCaseLibrary, load_usecases
from huntbrief.stages.hunts import render_sweep

KQL_SCHEMA = {"kql": "defender", "sentinel": "sentinel"}
# Values that break naive quoting: backslashes, quotes, a trailing backslash, regex metacharacters.
HOSTILE = {
    "ipv4": ["198.51.100.7", "203.0.113.9"],
    "domain": ["evil.example", 'a"b.example', "x\\y.example"],
    "url": ["http://evil.example/a?b=c", 'http://e.example/"q"', "http://e.example/p\\"],
    "sha256": ["a" * 64],
    "sha1": ["b" * 40],
    "md5": ["c" * 32],
    "email": ["x@evil.example", "o'brien@e.example"],
}


@lru_cache(maxsize=1)
def compiled_library() -> UseCaseLibrary:
    """The packaged use cases with a query for every backend that can express them."""
    return compile_usecases(load_usecases(), tuple(BACKENDS))


@lru_cache(maxsize=1)
def emitted_queries() -> tuple[tuple[str, str, str], ...]:
    """(id, backend, text) for every use-case query and every rendered sweep query."""
    found = [(uc.id, backend, text) for uc in compiled_library() for backend, text in uc.queries]
    sweeps = load_sweeps()
    for template in sweeps.templates:
        values = [v for kind in template.kinds for v in HOSTILE.get(kind.value, [])]
        for query in template.queries:
            for i, rendered in enumerate(render_sweep(query, values, 2)):
                found.append((f"{template.id}#{i}", query.backend, rendered.text))
    return tuple(found)


@lru_cache(maxsize=1)
def kql_results() -> dict[str, tuple[str, ...]]:
    """Language-service problems for every emitted KQL query, keyed `id/backend` (one node run)."""
    checker = KqlChecker.find()
    if checker is None:
        return {}
    batch = [(f"{qid}/{b}", KQL_SCHEMA[b], text) for qid, b, text in emitted_queries() if b in KQL_SCHEMA]
    return checker.check(batch)


def require_kql_checker() -> KqlChecker:
    """The KQL checker, or a skip naming what is missing (node itself); a missing package fails."""
    if shutil.which("node") is None:
        pytest.skip("node is not installed: KQL cannot be checked with the Kusto language service")
    checker = KqlChecker.find()
    assert checker is not None, (
        "run `npm ci --prefix tools/kql-validate` to install the Kusto language service"
    )
    return checker
