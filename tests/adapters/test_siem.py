"""SIEM backends: one name -> class table, pySigma conversion, and each of our fixes to its output."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import yaml

from huntbrief.adapters.siem import BACKENDS, SigmaBackend, compile_usecases, load_backends, packaged_usecases
from huntbrief.catalog.usecases import QUERY_LANGUAGES, UseCaseLibrary, parse_usecase
from huntbrief.errors import BackendError, ConfigError

pytest.importorskip("sigma.collection")


def sigma(category: str, **detection: object) -> str:
    selection = {k.replace("__", "|"): v for k, v in detection.items()}
    return yaml.safe_dump({"logsource": {"category": category, "product": "windows"},
                           "detection": {"selection": selection, "condition": "selection"}})  # fmt: skip


def convert(backend: str, text: str) -> str:
    return BACKENDS[backend]().convert(text)


def test_the_table_matches_the_catalogue_languages_and_rejects_unknown_names() -> None:
    assert list(BACKENDS) == list(QUERY_LANGUAGES)
    assert [b.language for b in load_backends(BACKENDS)] == list(QUERY_LANGUAGES.values())
    with pytest.raises(
        ConfigError,
        match="unknown query backend.*nosuch.*valid: splunk, splunk_plain, kql, sentinel, elastic",
    ):
        load_backends(["nosuch"])


def test_cim_registry_target_object_is_the_full_value_path() -> None:
    text = convert("splunk", sigma("registry_set", TargetObject__endswith="\\CurrentVersion\\Run\\upd"))
    assert 'Registry.registry_path="*\\\\CurrentVersion\\\\Run\\\\upd"' in text
    assert "registry_key_name=" not in text


def test_cim_queries_are_accelerated_and_split_by_real_cim_fields() -> None:
    text = convert("splunk", sigma("process_creation", Image__endswith="\\sc.exe"))
    assert text.startswith("| tstats summariesonly=true count ") and "allow_old_summaries" not in text
    assert "by Processes.dest Processes.user Processes.parent_process_name" in text
    assert "process_current_directory" not in text and "convert timeformat" not in text


def test_trailing_backslash_keeps_contains_semantics_in_kql() -> None:
    text = convert("kql", sigma("registry_set", TargetObject__contains="\\CurrentVersion\\Run\\"))
    assert 'endswith "\\\\Software' not in text and "Run*" not in text
    assert 'RegistryPath matches regex "(?i)(\\\\\\\\CurrentVersion\\\\\\\\Run\\\\\\\\)"' in text


def test_kql_registry_paths_include_the_value_name() -> None:
    text = convert("kql", sigma("registry_set", TargetObject__endswith="\\Winlogon\\Userinit"))
    name = 'iff(isempty(RegistryValueName), "(Default)", RegistryValueName)'
    assert text.splitlines()[1] == f'| extend RegistryPath = strcat(RegistryKey, "\\\\", {name})'
    assert 'RegistryPath endswith "\\\\Winlogon\\\\Userinit"' in text
    sentinel = convert("sentinel", sigma("registry_set", TargetObject__endswith="\\Winlogon\\Userinit"))
    assert "strcat(RegistryKey" in sentinel and "RegistryValue)" in sentinel


def test_kql_ports_are_numbers_and_dwords_are_decimal() -> None:
    text = convert("kql", sigma("network_connection", DestinationPort=["4444", "8080"]))
    assert "RemotePort in (4444, 8080)" in text and '"4444"' not in text
    asim = convert("sentinel", sigma("network_connection", DestinationPort="4444"))
    assert "DstPortNumber == 4444" in asim
    dword = convert("kql", sigma("registry_set", TargetObject__endswith="\\WDigest\\UseLogonCredential",
                                 Details="DWORD (0x00000001)"))  # fmt: skip
    assert 'RegistryValueData == "1"' in dword


def test_plain_splunk_is_restricted_to_the_sysmon_event() -> None:
    text = convert("splunk_plain", sigma("process_creation", Image__endswith="\\sc.exe"))
    assert (
        text == 'source="XmlWinEventLog:Microsoft-Windows-Sysmon/Operational" EventCode=1 Image="*\\\\sc.exe"'
    )


def test_elastic_escapes_like_backslashes_and_refuses_case_insensitive_rlike() -> None:
    text = convert("elastic", sigma("process_creation", CommandLine__contains="\\Users\\"))
    assert text == 'FROM logs-*\n| where process.command_line like "*\\\\\\\\Users\\\\\\\\*"'
    with pytest.raises(BackendError, match="case-insensitive"):
        convert("elastic", sigma("registry_set", TargetObject__contains="\\Run\\"))


def test_unsupported_logsource_raises_backend_error() -> None:
    with pytest.raises(BackendError, match="splunk"):
        convert("splunk", sigma("network_connection", DestinationPort=4444))


def _library(tmp_path: Path) -> UseCaseLibrary:
    text = (
        Path(__file__)
        .parents[2]
        .joinpath("src/huntbrief/catalog/data/usecases/uc_certutil_download_decode.yaml")
        .read_text()
    )
    return UseCaseLibrary([parse_usecase(text, "x.yaml")])


def test_hand_written_queries_win_and_failures_are_left_out_with_a_reason(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    library = _library(tmp_path)

    def failing(backend: SigmaBackend, usecase: object) -> str:
        if backend.name == "sentinel":
            raise BackendError("sentinel: nope", location="x")
        return f"converted for {backend.name}"

    with caplog.at_level(logging.INFO, logger="huntbrief.adapters.siem"):
        compiled = compile_usecases(library, ["kql", "sentinel"], convert=failing)
    (usecase,) = compiled
    assert dict(usecase.queries) == {"kql": "converted for kql"}
    assert "UC_CERTUTIL_DOWNLOAD_DECODE left out of sentinel: sentinel: nope" in caplog.text


def test_a_backend_without_its_dependency_disables_itself_with_one_log_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        BACKENDS["elastic"], "requires", ("sigma.collection", "sigma.backends.no_such_backend")
    )
    with caplog.at_level(logging.WARNING, logger="huntbrief.adapters.siem"):
        compiled = compile_usecases(_library(tmp_path), ["kql", "elastic"])
    assert [b for b, _ in next(iter(compiled)).queries] == ["kql"]
    assert caplog.text.count("backend elastic: pySigma or its backend package is missing") == 1


def test_conversion_makes_no_network_call(monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("network access during conversion")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    packaged_usecases.cache_clear()
    assert len(packaged_usecases(tuple(BACKENDS))) >= 60
