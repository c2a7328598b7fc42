"""Check converted queries before huntbrief emits them: one entry point for every backend.

- SPL (splunk, splunk_plain): our SPL linter (`spl_lint.py`) with the CIM field table.
- KQL (kql, sentinel): Microsoft's Kusto language service against the Defender / Sentinel table
  schemas when node and `tools/kql-validate` are installed (`KqlChecker.find()`); every
  `matches regex` literal is compiled with RE2 in any case.
- ES|QL (elastic): balanced quotes and parentheses, reading the `logs-*` data streams.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass

from huntbrief.adapters.kql_check import KqlChecker, re2_problem
from huntbrief.adapters.spl_lint import lint_spl
from huntbrief.catalog.query_schemas import load_cim_fields
from huntbrief.catalog.usecases import QUERY_LANGUAGES
from huntbrief.errors import BackendError

log = logging.getLogger(__name__)
KQL_SCHEMAS = {"kql": "defender", "sentinel": "sentinel"}
_KQL_REGEX = re.compile(r'matches regex\s+(@?)"((?:[^"\\]|\\.)*)"|matches regex\s+@\'([^\']*)\'')
_QUOTED = re.compile(r'"(?:[^"\\]|\\.)*"')


@dataclass(frozen=True, slots=True)
class QueryToCheck:
    """One query: a key to report problems under, its backend name and its text."""

    key: str
    backend: str
    text: str


def kql_regexes(text: str) -> list[str]:
    """The patterns of the `matches regex` literals in a KQL query (verbatim and escaped strings)."""
    found = []
    for match in _KQL_REGEX.finditer(text):
        if match.group(3) is not None:
            found.append(match.group(3))
        elif match.group(1):
            found.append(match.group(2).replace('""', '"'))
        else:
            found.append(re.sub(r"\\(.)", r"\1", match.group(2)))
    return found


def esql_problem(text: str) -> str | None:
    """Why an ES|QL query is malformed (unbalanced quotes/parentheses, no logs source), or None."""
    code = _QUOTED.sub('""', text)
    if code.count('"') % 2 or code.count("(") != code.count(")"):
        return "unbalanced quotes or parentheses"
    return None if text.startswith("FROM logs-*") else "does not read the logs-* data streams"


def check_queries(queries: Sequence[QueryToCheck], kql: KqlChecker | None = None) -> dict[str, str]:
    """Key -> first problem, for every query that fails its backend's checks (valid ones are absent).

    KQL goes through `kql` (the language service) in one batch when given; RE2 always.
    """
    problems: dict[str, str] = {}
    cim = load_cim_fields()
    for query in queries:
        language = QUERY_LANGUAGES.get(query.backend)
        found: str | None = None
        if language == "spl":
            found = next(iter(lint_spl(query.text, cim)), None)
        elif language == "kql":
            found = next((p for r in kql_regexes(query.text) if (p := re2_problem(r))), None)
        elif language == "esql":
            found = esql_problem(query.text)
        else:
            found = f"no checker for backend {query.backend}"
        if found:
            problems[query.key] = found
    if kql is not None:
        problems.update(_language_service(queries, kql, problems))
    return problems


def _language_service(
    queries: Sequence[QueryToCheck], kql: KqlChecker, known: dict[str, str]
) -> dict[str, str]:
    batch = [
        (q.key, KQL_SCHEMAS[q.backend], q.text)
        for q in queries
        if q.backend in KQL_SCHEMAS and q.key not in known
    ]
    if not batch:
        return {}
    try:
        results = kql.check(batch)
    except BackendError as exc:
        log.warning("KQL language service failed (%s): every KQL query in this batch is left out", exc)
        return {key: f"not checked: {exc.message}" for key, _, _ in batch}
    return {key: found[0] for key, found in results.items() if found}
