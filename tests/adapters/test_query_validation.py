"""No invalid query can ship: every emitted query passes its language's validator.

KQL: parsed and analysed by Microsoft's Kusto language service against the declared Defender XDR
and Sentinel schemas, every `matches regex` compiled by RE2. SPL: our linter (CIM fields, tstats
shape, quoting). ES|QL: balanced quotes and brackets.
"""

from __future__ import annotations

import re

import pytest

from huntbrief.adapters.kql_check import re2_problem
from huntbrief.adapters.spl_lint import lint_spl
from huntbrief.catalog.query_schemas import load_cim_fields
from tests.adapters.query_validation import (
    KQL_SCHEMA,
    emitted_queries,
    kql_results,
    require_kql_checker,
)

CIM = load_cim_fields()
QUERIES = emitted_queries()


def _ids(params: tuple[str, str, str]) -> str:
    return f"{params[0]}-{params[1]}"


@pytest.mark.parametrize("query", [q for q in QUERIES if q[1] in KQL_SCHEMA], ids=_ids)
def test_kql_parses_and_analyses_against_the_schema(query: tuple[str, str, str]) -> None:
    require_kql_checker()
    qid, backend, text = query
    assert kql_results()[f"{qid}/{backend}"] == (), text


@pytest.mark.parametrize("query", [q for q in QUERIES if q[1] in ("splunk", "splunk_plain")], ids=_ids)
def test_spl_passes_the_linter(query: tuple[str, str, str]) -> None:
    assert lint_spl(query[2], CIM) == (), query[2]


@pytest.mark.parametrize("query", [q for q in QUERIES if q[1] == "splunk"], ids=_ids)
def test_cim_spl_uses_accelerated_tstats(query: tuple[str, str, str]) -> None:
    text = query[2]
    assert text.startswith("| tstats summariesonly=true ") and "`drop_dm_object_name(" in text


@pytest.mark.parametrize("query", [q for q in QUERIES if q[1] == "elastic"], ids=_ids)
def test_esql_is_balanced_and_reads_the_logs_streams(query: tuple[str, str, str]) -> None:
    text = query[2]
    assert text.startswith("FROM logs-*\n| where ")
    code = re.sub(r'"(?:[^"\\]|\\.)*"', '""', text)
    assert code.count('"') % 2 == 0 and code.count("(") == code.count(")")


def test_every_backend_emits_queries() -> None:
    assert {backend for _, backend, _ in QUERIES} == {"splunk", "splunk_plain", "kql", "sentinel", "elastic"}


# --- the validators catch the flaws they exist for -------------------------------------------------

BAD_KQL = {
    "re2": r'DeviceProcessEvents | where ProcessCommandLine matches regex @"(?i)(\Users\|\AppData\)"',
    "column": 'DeviceProcessEvents | where CommandLine contains "x"',
    "table": 'DeviceProcessEvent | where FileName =~ "x"',
    "syntax": 'DeviceProcessEvents | where FileName =~ "sc.exe',
    "type": "DeviceProcessEvents | where FileName = 3",
    "not_constant": "DeviceProcessEvents | where FileName matches regex FolderPath",
}


def test_kql_checker_rejects_each_flaw() -> None:
    checker = require_kql_checker()
    results = checker.check([(name, "defender", text) for name, text in BAD_KQL.items()])
    assert all(results[name] for name in BAD_KQL), results
    assert "RE2" in results["re2"][0] and "\\U" in results["re2"][0]
    good = checker.check(
        [("ok", "sentinel", 'imProcessCreate | where TargetProcessName endswith "\\\\cmd.exe"')]
    )
    assert good == {"ok": ()}


TSTATS = "| tstats summariesonly=true count from datamodel=Endpoint.Processes"


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (
            TSTATS + r' where Processes.process="*\Users\*" by Processes.dest',
            "unescaped backslash",
        ),
        (
            TSTATS + ' where (Processes.process="x" by Processes.dest',
            "unclosed",
        ),
        (
            TSTATS + " by Processes.dest | `drop_dm_object_name(Processes)",
            "backtick",
        ),
        (
            "| tstats summariesonly=true count from datamodel=Endpoint.Processes by Processes.command_line",
            "not a CIM field",
        ),
        (
            "| tstats summariesonly=true count from datamodel=Endpoint.Process by Processes.dest",
            "unknown CIM dataset",
        ),
        ("| tstats count from datamodel=Endpoint.Processes by Processes.dest", "summariesonly"),
        (
            "| tstats summariesonly=true count from datamodel=Endpoint.Processes by Registry.dest",
            "does not belong",
        ),
        (
            TSTATS + " by Processes.dest | stat count",
            "unknown command",
        ),
        ('Image="x" | regex Image="(unclosed"', "does not compile"),
        ('Image="x" | `drop_dm_object_name(Process)`', "unknown CIM node"),
    ],
)
def test_spl_linter_rejects_each_flaw(bad: str, message: str) -> None:
    problems = lint_spl(bad, CIM)
    assert any(message in p for p in problems), problems


def test_spl_linter_accepts_subsearches_and_implicit_search() -> None:
    text = (
        "| tstats summariesonly=true count from datamodel=Endpoint.Processes "
        'where Processes.process="*\\\\x\\"y*" by Processes.dest\n| `drop_dm_object_name(Processes)`\n'
        "| append [| tstats summariesonly=true count "
        "from datamodel=Endpoint.Services by Services.service_name | `drop_dm_object_name(Services)`]"
    )
    assert lint_spl(text, CIM) == ()
    assert lint_spl('source="XmlWinEventLog:Sysmon" EventCode=1 Image="*\\\\a.exe" | table Image', CIM) == ()


def test_re2_rejects_what_kusto_rejects() -> None:
    assert re2_problem(r"(?i)\Users\|x") is not None
    assert re2_problem(r"(?i)\\users\\") is None
