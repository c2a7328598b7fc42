"""`huntbrief hunts list|show`: the library is browsable from the command line."""

from __future__ import annotations

from typer.testing import CliRunner

from huntbrief.app.cmd_hunts import hunts_app

RUNNER = CliRunner()


def test_list_shows_every_use_case_and_filters_by_backend_and_technique() -> None:
    everything = RUNNER.invoke(hunts_app, ["list"])
    assert everything.exit_code == 0, everything.output
    lines = [line for line in everything.stdout.splitlines() if line.startswith("UC_")]
    assert len(lines) >= 60 and any(line.startswith("UC_SERVICE_PERSIST ") for line in lines)
    elastic = RUNNER.invoke(hunts_app, ["list", "--backend", "elastic"])
    elastic_lines = [line for line in elastic.stdout.splitlines() if line.startswith("UC_")]
    assert 0 < len(elastic_lines) < len(lines)
    persistence = RUNNER.invoke(hunts_app, ["list", "--technique", "T1543"])
    assert [line.split()[0] for line in persistence.stdout.splitlines()] == ["UC_SERVICE_PERSIST"]


def test_show_prints_one_backend_or_all() -> None:
    one = RUNNER.invoke(hunts_app, ["show", "uc_service_persist", "--backend", "kql"])
    assert one.exit_code == 0, one.output
    assert "phase: installation   confidence: high" in one.stdout
    assert (
        "## Microsoft Defender XDR KQL (kql)\nDeviceProcessEvents" in one.stdout
        and "tstats" not in one.stdout
    )
    every = RUNNER.invoke(hunts_app, ["show", "UC_CERTUTIL_DOWNLOAD_DECODE"])
    for label in ("(splunk)", "(splunk_plain)", "(kql)", "(sentinel)", "(elastic)"):
        assert label in every.stdout


def test_unknown_id_or_backend_fails_with_a_hint() -> None:
    missing = RUNNER.invoke(hunts_app, ["show", "UC_NOPE"])
    assert missing.exit_code == 1 and "hunts list" in missing.output
    bad = RUNNER.invoke(hunts_app, ["list", "--backend", "qradar"])
    assert bad.exit_code == 2 and "valid: splunk, splunk_plain, kql, sentinel, elastic" in bad.output
