"""The use-case library and sweep templates: every packaged file validates, every query is well formed.

The query checks are lexical (quotes, brackets, escapes, regex syntax); running the queries on a real
engine comes with the SIEM-backend issue. `check_spl` / `check_kql` are reused by the hunts tests.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from huntbrief.adapters.siem import packaged_usecases
from huntbrief.catalog.attack import load_attack_catalog
from huntbrief.catalog.sweeps import load_sweeps
from huntbrief.catalog.usecases import (
    DATA_DIR,
    PHASES,
    UseCase,
    UseCaseLibrary,
    load_usecases,
    parse_usecase,
)
from huntbrief.errors import CatalogError
from huntbrief.model import Confidence, IndicatorKind

DEFENDER_TABLES = {
    "DeviceProcessEvents",
    "DeviceRegistryEvents",
    "DeviceNetworkEvents",
    "DeviceFileEvents",
    "DeviceEvents",
    "DeviceLogonEvents",
    "DeviceImageLoadEvents",
    "EmailEvents",
}
# Escapes a regex may use: a literal backslash or punctuation, and the RE2 classes/assertions below.
_REGEX_ESCAPES = set("\\.^$?*+()[]{}-/") | set("dDsSwWbBAz")
_PAIRS = {")": "(", "]": "[", "}": "{"}


def _scan(text: str, language: str) -> tuple[list[str], list[tuple[str, bool]]]:
    """Split a query into code outside string literals and (literal, verbatim) pairs; fail on bad lexing."""
    code, literals, i = [], [], 0
    while i < len(text):
        ch = text[i]
        if language == "kql" and text.startswith("//", i):
            i = text.find("\n", i) if "\n" in text[i:] else len(text)
        elif ch == "`" and language == "spl":
            end = text.find("`", i + 1)
            assert end > i, f"unbalanced backtick at {i}: {text[i : i + 40]!r}"
            code.append(text[i : end + 1])
            i = end + 1
        elif language == "kql" and ch == "@" and text[i + 1 : i + 2] in ('"', "'"):
            end = _verbatim_end(text, i + 1)
            literals.append((text[i + 2 : end], True))
            i = end + 1
        elif ch == '"' or (ch == "'" and language == "kql"):
            end = _escaped_end(text, i)
            literals.append((text[i + 1 : end], False))
            i = end + 1
        else:
            code.append(ch)
            i += 1
    return code, literals


def _verbatim_end(text: str, start: int) -> int:
    quote, i = text[start], start + 1
    while i < len(text):
        if text[i] == quote and text[i + 1 : i + 2] == quote:
            i += 2
        elif text[i] == quote:
            return i
        else:
            i += 1
    raise AssertionError(f"unterminated verbatim string at {start}: {text[start : start + 40]!r}")


def _escaped_end(text: str, start: int) -> int:
    quote, i = text[start], start + 1
    while i < len(text):
        if text[i] == "\\":
            assert text[i + 1 : i + 2] in ("\\", quote), (
                f"bad escape {text[i : i + 2]!r} in {text[start:i]!r}"
            )
            i += 2
        elif text[i] == quote:
            return i
        elif text[i] == "\n":
            break
        else:
            i += 1
    raise AssertionError(f"unterminated string at {start}: {text[start : start + 40]!r}")


def _balanced(code: list[str]) -> None:
    stack: list[str] = []
    for token in code:
        if token in "([{":
            stack.append(token)
        elif token in _PAIRS:
            assert stack and stack.pop() == _PAIRS[token], f"unbalanced {token!r}"
    assert not stack, f"unclosed {stack}"


def _unescape(literal: str, verbatim: bool) -> str:
    return literal.replace('""', '"') if verbatim else re.sub(r"\\(.)", r"\1", literal)


def check_regex(pattern: str) -> None:
    """A KQL `matches regex` / SPL `match()` pattern: valid for Python re, only RE2-safe escapes."""
    re.compile(pattern)
    for escaped in re.findall(r"\\(.)", pattern):
        assert escaped in _REGEX_ESCAPES, (
            f"escape \\{escaped} is not valid RE2 (or hides a meaning): {pattern}"
        )


def check_spl(text: str) -> None:
    """Well-formed SPL: starts with | or a term, balanced quotes/brackets/backticks, `\\\\` escapes."""
    assert re.match(r"\s*(\||[A-Za-z])", text), f"SPL must start with | or a search term: {text[:40]!r}"
    code, _ = _scan(text, "spl")
    _balanced(code)
    for found in re.finditer(r'\bmatch\(\w+,\s*"((?:[^"\\]|\\.)*)"\)', text):
        check_regex(_unescape(found.group(1), False))


def check_kql(text: str) -> None:
    """Well-formed KQL: (after `let`s) starts with a table, balanced quotes/brackets, valid regex literals."""
    body = re.sub(r"\A(\s*let\s[^;]*;)*", "", text)
    first = re.match(r"\s*([A-Za-z]\w*)", body)
    assert first and first.group(1) in DEFENDER_TABLES, f"KQL must start with a table: {body[:40]!r}"
    code, _ = _scan(text, "kql")
    _balanced(code)
    for found in re.finditer(r"(?:matches regex|extract\()\s*(@?)([\"'])", text):
        start = found.end() - 1
        verbatim = bool(found.group(1))
        end = _verbatim_end(text, start) if verbatim else _escaped_end(text, start)
        check_regex(_unescape(text[start + 1 : end], verbatim))


# --- the checkers themselves must catch the flaws of the old pipeline -----------------------------


@pytest.mark.parametrize(
    "bad",
    [
        r'DeviceProcessEvents | where ProcessCommandLine matches regex @"(?i)(\Users\|\AppData\)"',
        'DeviceProcessEvents | where FileName =~ "sc.exe',
        'DeviceProcessEvents | where (FileName =~ "sc.exe"',
        'sc.exe | where FileName =~ "sc.exe"',
    ],
)
def test_kql_checker_rejects_the_old_flaws(bad: str) -> None:
    with pytest.raises((AssertionError, re.error)):
        check_kql(bad)


@pytest.mark.parametrize(
    "bad",
    [
        r'| tstats count from datamodel=Endpoint.Processes where Processes.process="*\Users\*" by x',
        '| tstats count from datamodel=Endpoint.Processes where (Processes.process="x" by x',
        "| tstats count from datamodel=Endpoint.Processes by x | `drop_dm_object_name(Processes)",
    ],
)
def test_spl_checker_rejects_the_old_flaws(bad: str) -> None:
    with pytest.raises(AssertionError):
        check_spl(bad)


# --- packaged use cases ------------------------------------------------------------------------------

LIBRARY = load_usecases()
USECASES = sorted(LIBRARY, key=lambda uc: uc.id)
COMPILED = packaged_usecases(("splunk", "kql"))  # Sigma detections converted for the default backends


def test_packaged_library_is_large_and_ids_match_files() -> None:
    files = sorted((DATA_DIR / "usecases").glob("*.yaml"))
    assert len(LIBRARY) == len(files) >= 15
    assert {f.stem.upper() for f in files} == {uc.id for uc in LIBRARY}


def test_every_technique_exists_in_the_packaged_attack_catalog() -> None:
    known = set(load_attack_catalog().techniques)
    assert len(load_usecases(DATA_DIR / "usecases", known_techniques=known)) == len(LIBRARY)


@pytest.mark.parametrize("usecase", USECASES, ids=lambda uc: uc.id)
def test_usecase_is_complete(usecase: UseCase) -> None:
    usecase = COMPILED.get(usecase.id)
    assert usecase.phase in PHASES
    assert usecase.confidence in set(Confidence)
    assert usecase.query("splunk") and usecase.query("kql")
    assert usecase.samples_match and usecase.samples_no_match
    assert usecase.confidence_rule.count("\n") == 0


@pytest.mark.parametrize("usecase", USECASES, ids=lambda uc: uc.id)
def test_usecase_spl_is_well_formed(usecase: UseCase) -> None:
    text = COMPILED.get(usecase.id).query("splunk") or ""
    check_spl(text)
    assert "tstats summariesonly=true" in text and "`drop_dm_object_name(" in text


@pytest.mark.parametrize("usecase", USECASES, ids=lambda uc: uc.id)
def test_usecase_kql_is_well_formed(usecase: UseCase) -> None:
    check_kql(COMPILED.get(usecase.id).query("kql") or "")


def test_library_lookup_by_technique_follows_parents() -> None:
    generic = _usecase("UC_GENERIC", ["T1543"])
    specific = _usecase("UC_SPECIFIC", ["T1543.003"])
    library = UseCaseLibrary([generic, specific])
    assert library.for_technique("T1543.003") == (specific, generic)
    assert library.for_technique("T1543") == (generic,)
    assert library.narrower("T1543") == (specific,)
    assert library.narrower("T1543.003") == ()
    assert library.get("UC_GENERIC") is generic and "UC_SPECIFIC" in library and len(library) == 2
    with pytest.raises(ValueError):
        UseCaseLibrary([generic, generic])


def test_packaged_lookup_finds_service_persistence() -> None:
    assert [uc.id for uc in LIBRARY.for_technique("T1543.003")] == ["UC_SERVICE_PERSIST"]
    assert LIBRARY.narrower("T1543") == (LIBRARY.get("UC_SERVICE_PERSIST"),)


def _usecase(uc_id: str, techniques: list[str]) -> UseCase:
    return UseCase(uc_id, "t", "d", tuple(techniques), "installation", Confidence.HIGH, "r", ("s",), ("f",),
                   (("kql", "DeviceEvents"),), (), ())  # fmt: skip


# --- validation errors name the file, line and key path ----------------------------------------------

GOOD = (DATA_DIR / "usecases" / "uc_mshta_proxy.yaml").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("id: UC_MSHTA_PROXY", "id: uc-mshta", "id: 'uc-mshta' does not match"),
        ("phase: exploitation", "phase: exploit", "phase: 'exploit' is not one of"),
        ("confidence: High", "confidence: Certain", "confidence: 'Certain' is not one of"),
        ("techniques: [T1218.005]", "techniques: [T1218.5]", "techniques: 'T1218.5' is not an ATT&CK"),
        ("techniques: [T1218.005]", "techniques: []", "techniques: must be a non-empty list"),
        ("  kql: |", "  nosuch: |", "queries: unknown keys ['nosuch']"),
        ("confidence_rule:", "confidence_rules:", "unknown keys ['confidence_rules']"),
        ("title: mshta", "titel: mshta", "<top>: unknown keys ['titel']"),
        ("title: mshta running remote, inline-script or user-folder HTA content\n", "", "title: is required"),
        ("      FileName: mshta.exe\n", "      FileNam: mshta.exe\n", "samples.match[0]: field 'FileNam'"),
        (
            "      FileName: mshta.exe\n",
            "      FileName: [mshta.exe]\n",
            "samples.match[0]: field 'FileName'",
        ),
        ("  no_match:", "  nomatch:", "samples: unknown keys ['nomatch']"),
    ],
)
def test_invalid_usecase_names_key_path(tmp_path: Path, old: str, new: str, message: str) -> None:
    assert old in GOOD
    path = tmp_path / "uc_bad.yaml"
    path.write_text(GOOD.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(CatalogError) as caught:
        load_usecases(tmp_path)
    assert message in caught.value.message
    assert caught.value.location is not None and caught.value.location.startswith(str(path))


def test_empty_query_is_rejected() -> None:
    text = re.sub(r"  kql: \|\n(    .*\n)+", '  kql: ""\n', GOOD)
    with pytest.raises(CatalogError, match="queries.kql: must be a non-empty string"):
        parse_usecase(text, "uc.yaml")


def test_unknown_technique_is_rejected_when_catalog_given(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(GOOD, encoding="utf-8")
    with pytest.raises(CatalogError, match="T1218.005 is not in the ATT&CK catalogue"):
        load_usecases(tmp_path, known_techniques={"T1059"})


def test_duplicate_ids_across_files_are_rejected(tmp_path: Path) -> None:
    for name in ("a.yaml", "b.yaml"):
        (tmp_path / name).write_text(GOOD, encoding="utf-8")
    with pytest.raises(CatalogError, match="already defined in") as caught:
        load_usecases(tmp_path)
    assert caught.value.location == str(tmp_path / "b.yaml")


def test_yaml_syntax_error_carries_line(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("id: UC_X\ntitle: [unclosed\n", encoding="utf-8")
    with pytest.raises(CatalogError) as caught:
        load_usecases(tmp_path)
    assert re.search(r"a\.yaml:\d+$", caught.value.location or "")


def test_empty_directory_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match="no use-case files"):
        load_usecases(tmp_path)


# --- sweep templates -----------------------------------------------------------------------------------

SWEEPS = load_sweeps()


def test_sweeps_cover_the_indicator_kinds_users_hunt_for() -> None:
    covered = {kind for template in SWEEPS.templates for kind in template.kinds}
    wanted = {"ipv4", "ipv6", "domain", "url", "md5", "sha1", "sha256", "email"}
    assert {IndicatorKind(k) for k in wanted} <= covered
    assert SWEEPS.max_values == 500
    assert all(t.query("splunk") and t.query("kql") for t in SWEEPS.templates)


SWEEPS_TEXT = (DATA_DIR / "sweeps.yaml").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("id: SWEEP_IP", "id: IP_SWEEP", "sweeps[0].id: 'IP_SWEEP' does not match"),
        ("kinds: [ipv4, ipv6]", "kinds: [ipv4, ip6]", "sweeps[0].kinds: unknown kinds ['ip6']"),
        ("max_values_per_query: 500", "max_values_per_query: 0", "max_values_per_query: must be an integer"),
        ('patterns: ["{value}", "*.{value}"]', 'patterns: ["*.value"]', "every pattern must contain {value}"),
        ("let iocs = dynamic([{values}]);\n        DeviceNetworkEvents\n        | where Timestamp > ago(30d)"
         "\n        | where RemoteIP", "DeviceNetworkEvents\n        | where RemoteIP",
         "sweeps[0].queries.kql.template: must contain the {values} placeholder"),
    ],
)  # fmt: skip
def test_invalid_sweeps_name_key_path(tmp_path: Path, old: str, new: str, message: str) -> None:
    assert old in SWEEPS_TEXT
    path = tmp_path / "sweeps.yaml"
    path.write_text(SWEEPS_TEXT.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(CatalogError) as caught:
        load_sweeps(path)
    assert message in caught.value.message
    assert (caught.value.location or "").startswith(str(path))
