"""SigmaHQ rules from a user-given folder: read, map tags, convert, check, attribute, cache, plan.

The small rules below are our own, written for these tests; the corpus test reads the SigmaHQ copy
in ../shared/data/sigma (skipped when absent) and never copies a rule into the repository.
"""

from __future__ import annotations

import json
import logging
import textwrap
from pathlib import Path

import jsonschema
import pytest

from huntbrief.adapters.kql_check import KqlChecker
from huntbrief.adapters.query_check import QueryToCheck, check_queries, kql_regexes
from huntbrief.adapters.sigma_rules import DRL, SigmaLoad, load_sigma_rules, read_rule
from huntbrief.catalog.attack import load_attack_catalog
from huntbrief.catalog.attack_crosswalk import load_attack_crosswalk
from huntbrief.catalog.killchain import load_kill_chain
from huntbrief.catalog.sweeps import load_sweeps
from huntbrief.catalog.usecases import UseCaseLibrary, load_usecases
from huntbrief.errors import CatalogError, ConfigError
from huntbrief.model import Confidence, Indicator, IndicatorKind, IocFindings, TechniqueHit
from huntbrief.serialize import hunt_to_dict
from huntbrief.stages.hunts import SigmaLimits, plan_hunts
from tests.adapters.query_validation import KQL_SCHEMA, require_kql_checker

ATTACK = load_attack_catalog()
KILLCHAIN = load_kill_chain(ATTACK)
CROSSWALK = load_attack_crosswalk(ATTACK)

SERVICE_RULE = """
title: Service Created From The Public Profile
id: 11111111-2222-4333-8444-555555555555
status: test
description: sc.exe creates a service whose binary lives under C:\\Users\\Public.
author: Jane Analyst (huntbrief tests)
tags:
  - attack.persistence
  - attack.t1543.003
logsource:
  category: process_creation
  product: windows
detection:
  selection:
    Image|endswith: '\\sc.exe'
    CommandLine|contains|all:
      - ' create '
      - '\\Users\\Public\\'
  condition: selection
falsepositives:
  - Software installers run from the public profile
level: high
"""


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return path


@pytest.fixture
def rules(tmp_path: Path) -> Path:
    folder = tmp_path / "rules"
    _write(folder, "windows/service.yml", SERVICE_RULE)
    _write(  # tagged with an ATT&CK v19 ID (Impair Defenses moved): maps to v18's T1562.001
        folder,
        "windows/defender_off.yml",
        SERVICE_RULE.replace("11111111-2222-4333-8444-555555555555", "22222222-2222-4333-8444-555555555555")
        .replace("attack.t1543.003", "attack.t1685")
        .replace("Service Created From The Public Profile", "Defender Disabled With sc.exe")
        .replace("level: high", "level: medium"),
    )
    _write(
        folder, "old.yml", SERVICE_RULE.replace("status: test", "status: deprecated").replace("1111", "3333")
    )
    _write(folder, "untagged.yml", SERVICE_RULE.replace("  - attack.t1543.003\n", "").replace("1111", "4444"))
    _write(folder, "two_docs.yml", SERVICE_RULE + "\n---\ntitle: second part\n")
    _write(folder, "broken.yml", "title: [unclosed\n")
    _write(folder, "notes.txt", "not a rule")
    return folder


def _load(folder: Path, tmp_path: Path, names: tuple[str, ...] = ("splunk", "kql")) -> SigmaLoad:
    return load_sigma_rules(folder, names, ATTACK, KILLCHAIN, CROSSWALK, cache_dir=tmp_path / "cache")


def test_a_tagged_rule_becomes_an_attributed_hunt_for_each_backend(rules: Path, tmp_path: Path) -> None:
    loaded = _load(rules, tmp_path)
    service = loaded.library.get("SIGMA_11111111_2222_4333_8444_555555555555")
    assert service.kind == "sigma" and service.techniques == ("T1543.003",)
    assert (service.phase, service.confidence) == ("installation", Confidence.HIGH)
    assert service.false_positives == ("Software installers run from the public profile",)
    assert "Jane Analyst (huntbrief tests)" in service.attribution
    assert "11111111-2222-4333-8444-555555555555" in service.attribution
    assert "windows/service.yml" in service.attribution and DRL in service.attribution
    splunk, kql = service.query("splunk"), service.query("kql")
    assert splunk is not None and "datamodel=Endpoint.Processes" in splunk and "Users\\\\Public" in splunk
    assert kql is not None and kql.startswith("DeviceProcessEvents") and "sc.exe" in kql


def test_newer_attack_ids_map_back_and_bad_rules_are_skipped_with_a_reason(
    rules: Path, tmp_path: Path
) -> None:
    loaded = _load(rules, tmp_path)
    assert loaded.library.get("SIGMA_22222222_2222_4333_8444_555555555555").techniques == ("T1562.001",)
    assert loaded.library.get("SIGMA_22222222_2222_4333_8444_555555555555").confidence is Confidence.MEDIUM
    reasons = dict(loaded.skipped)
    assert reasons["old.yml"] == "status deprecated"
    assert reasons["untagged.yml"] == "no ATT&CK technique tag known to the catalogue"
    assert reasons["two_docs.yml"].startswith("not a single-document rule")
    assert reasons["broken.yml"].startswith("unreadable")
    assert "notes.txt" not in reasons and loaded.files == 6 and len(loaded.library) == 2


def test_the_compiled_library_is_cached_until_a_rule_changes(rules: Path, tmp_path: Path) -> None:
    first = _load(rules, tmp_path)
    again = _load(rules, tmp_path)
    assert not first.from_cache and again.from_cache
    assert [(u.id, u.queries, u.attribution) for u in again.library] == [
        (u.id, u.queries, u.attribution) for u in first.library
    ]
    _write(rules, "windows/service.yml", SERVICE_RULE.replace("level: high", "level: low"))
    changed = _load(rules, tmp_path)
    assert not changed.from_cache
    assert changed.library.get("SIGMA_11111111_2222_4333_8444_555555555555").confidence is Confidence.LOW


def test_a_corrupt_cache_is_ignored(rules: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    _load(rules, tmp_path)
    for cached in (tmp_path / "cache").iterdir():
        cached.write_text("{not json", encoding="utf-8")
    with caplog.at_level(logging.WARNING):
        loaded = _load(rules, tmp_path)
    assert not loaded.from_cache and len(loaded.library) == 2 and "ignoring the Sigma cache" in caplog.text


def test_a_query_that_fails_its_checks_is_left_out_of_that_backend_only(tmp_path: Path) -> None:
    folder = tmp_path / "rules"
    lookahead = SERVICE_RULE.replace(  # valid for Python's re (pySigma accepts it), not for RE2 (Kusto)
        "    CommandLine|contains|all:\n      - ' create '\n      - '\\Users\\Public\\'\n",
        "    CommandLine|re: '(?i) create (?!.*svchost)'\n",
    )
    _write(folder, "regex.yml", lookahead)
    loaded = _load(folder, tmp_path, ("kql", "splunk_plain"))
    usecase = loaded.library.get("SIGMA_11111111_2222_4333_8444_555555555555")
    assert usecase.query("kql") is None, "RE2 rejects a lookahead: the KQL query must not be emitted"
    assert usecase.query("splunk_plain") is not None and loaded.left_out == 1


def test_not_a_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not a folder of Sigma rules"):
        _load(tmp_path / "missing", tmp_path)


def test_read_rule_reports_why_a_rule_cannot_be_a_hunt(tmp_path: Path) -> None:
    path = _write(tmp_path, "r.yml", SERVICE_RULE.replace("detection:", "detections:"))
    assert read_rule(path, tmp_path, CROSSWALK) == "no detection or logsource"


def test_crosswalk_targets_must_exist(tmp_path: Path) -> None:
    path = tmp_path / "crosswalk.yaml"
    path.write_text("version: 1\nmap:\n  T1685: T9999\n", encoding="utf-8")
    with pytest.raises(CatalogError, match="T1685: 'T9999' is not a technique") as info:
        load_attack_crosswalk(ATTACK, path)
    assert info.value.location == f"{path}:3"


# --- checks of converted queries --------------------------------------------------------------------


def test_kql_regex_literals_are_read_from_verbatim_and_escaped_strings() -> None:
    text = 'T | where a matches regex @"(?i)\\\\Users\\\\" or b matches regex "x\\\\.exe"'
    assert kql_regexes(text) == ["(?i)\\\\Users\\\\", "x\\.exe"]


@pytest.mark.parametrize(
    ("backend", "text", "problem"),
    [
        ("kql", 'T | where a matches regex @"(?i)(\\Users\\|\\Temp\\)"', "RE2 rejects"),
        (
            "splunk",
            '| tstats summariesonly=true count from datamodel=Endpoint.Processes where Processes.nope="x"',
            "not a CIM field",
        ),
        ("elastic", 'FROM logs-*\n| where process.name == "a', "unbalanced"),
        ("nowhere", "x", "no checker"),
    ],
)
def test_check_queries_names_the_first_problem(backend: str, text: str, problem: str) -> None:
    found = check_queries([QueryToCheck("q", backend, text)])
    assert problem in found["q"]


def test_check_queries_accepts_valid_queries() -> None:
    good = [
        QueryToCheck("a", "kql", 'DeviceProcessEvents\n| where FileName =~ "sc.exe"'),
        QueryToCheck("b", "elastic", 'FROM logs-*\n| where process.name == "sc.exe"'),
    ]
    assert check_queries(good) == {}


# --- planning -----------------------------------------------------------------------------------------


def _hit(tid: str, confidence: float = 0.9) -> TechniqueHit:
    return TechniqueHit(id=tid, name=tid, tactics=("persistence",), confidence=confidence)


def test_rule_hunts_follow_our_use_cases_and_carry_the_attribution(rules: Path, tmp_path: Path) -> None:
    sigma = _load(rules, tmp_path).library
    hunts = plan_hunts([_hit("T1543.003")], IocFindings(), load_usecases(), load_sweeps(), sigma=sigma)
    assert [h.kind for h in hunts] == ["usecase", "sigma"]
    rule_hunt = hunts[1]
    assert rule_hunt.attribution.startswith('Sigma rule "Service Created From The Public Profile"')
    body = hunt_to_dict(rule_hunt)
    assert body["attribution"] == rule_hunt.attribution and body["kind"] == "sigma"
    schema = json.loads((Path(__file__).parents[2] / "src/huntbrief/schema/brief.schema.json").read_text())
    jsonschema.Draft202012Validator({"$ref": "#/$defs/hunt", "$defs": schema["$defs"]}).validate(body)


def _many_rules(folder: Path, count: int, technique: str, title: str = "Rule {n}") -> None:
    for n in range(count):
        rid = f"{n:08d}-aaaa-4bbb-8ccc-{technique[1:5]}00000000"[:36]
        text = SERVICE_RULE.replace("11111111-2222-4333-8444-555555555555", rid)
        text = text.replace("attack.t1543.003", f"attack.{technique.lower()}")
        _write(
            folder,
            f"{technique}/{n}.yml",
            text.replace("Service Created From The Public Profile", title.format(n=n)),
        )


def test_rule_hunts_are_capped_in_all_and_per_technique(tmp_path: Path) -> None:
    folder = tmp_path / "rules"
    _many_rules(folder, 6, "T1543.003")
    _many_rules(folder, 6, "T1053.005")
    sigma = _load(folder, tmp_path).library
    techniques = [_hit("T1543.003"), _hit("T1053.005")]
    hunts = plan_hunts(
        techniques,
        IocFindings(),
        UseCaseLibrary([]),
        load_sweeps(),
        sigma=sigma,
        sigma_limits=SigmaLimits(5, 3),
    )
    assert len(hunts) == 5
    per_technique = [h.techniques[0] for h in hunts]
    assert sorted([per_technique.count("T1543.003"), per_technique.count("T1053.005")]) == [2, 3]


def test_a_rule_for_one_cve_needs_that_cve_in_the_brief(tmp_path: Path) -> None:
    folder = tmp_path / "rules"
    _many_rules(folder, 1, "T1190", "Exploitation Of CVE-2023-4966 On A Gateway")
    sigma = _load(folder, tmp_path).library
    without = plan_hunts([_hit("T1190")], IocFindings(), UseCaseLibrary([]), load_sweeps(), sigma=sigma)
    assert without == ()
    cve = Indicator(
        kind=IndicatorKind.CVE, value="CVE-2023-4966", defanged="CVE-2023-4966", confidence=Confidence.HIGH
    )
    named = plan_hunts(
        [_hit("T1190")], IocFindings(indicators=(cve,)), UseCaseLibrary([]), load_sweeps(), sigma=sigma
    )
    assert [h.kind for h in named][:1] == ["sigma"]


# --- the SigmaHQ corpus ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sigmahq(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.conftest import SHARED_DATA

    folder = SHARED_DATA / "sigma" / "rules" / "windows" / "process_creation"
    if not folder.is_dir():
        pytest.skip(f"SigmaHQ rules not found at {folder} (only present in the project workspace)")
    return folder


@pytest.mark.timeout(600)  # converts and checks ~1,000 real rules: tens of seconds on a busy 2-core box
def test_sigmahq_process_creation_rules_convert_validate_and_keep_their_authors(
    sigmahq: Path, tmp_path: Path
) -> None:
    checker: KqlChecker = require_kql_checker()
    loaded = load_sigma_rules(
        sigmahq, ("splunk", "kql"), ATTACK, KILLCHAIN, CROSSWALK, cache_dir=tmp_path, kql=checker
    )
    assert len(loaded.library) > 500, "most SigmaHQ process-creation rules should become hunts"
    batch = [
        (f"{uc.id}/{backend}", KQL_SCHEMA[backend], text)
        for uc in loaded.library
        for backend, text in uc.queries
        if backend in KQL_SCHEMA
    ]
    problems = {k: p for k, p in checker.check(batch).items() if p}
    assert not problems, list(problems.items())[:3]
    spl = [QueryToCheck(uc.id, b, t) for uc in loaded.library for b, t in uc.queries if b == "splunk"]
    assert spl and check_queries(spl) == {}
    for uc in list(loaded.library)[:50]:
        path = uc.attribution.split(";")[0].rsplit(", ", 1)[1]
        text = (sigmahq / path).read_text(encoding="utf-8")
        author = uc.attribution.split(") by ", 1)[1].rsplit(", ", 1)[0]
        assert DRL in uc.attribution and f"id: {uc.id[6:].replace('_', '-')}" in text, uc.attribution
        assert author.split(",")[0].split("(")[0].strip() in " ".join(text.split()), uc.attribution
