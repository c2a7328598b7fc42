"""`huntbrief brief --sigma-rules DIR`: SigmaHQ-style rules offered as attributed hunts in the brief."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from typer.testing import CliRunner

from huntbrief.app.cli import app
from huntbrief.context import sigma_library
from tests.adapters.test_sigma_rules import SERVICE_RULE, _write
from tests.app.test_cli import REPORT, SCHEMA

runner = CliRunner()


@pytest.fixture(autouse=True)
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Compile into a cache under tmp_path, never the user's cache directory."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    sigma_library.cache_clear()


def test_brief_offers_a_matching_rule_with_its_author(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    _write(rules, "windows/service.yml", SERVICE_RULE)
    result = runner.invoke(app, ["brief", str(REPORT), "--format", "json", "--sigma-rules", str(rules)])
    assert result.exit_code == 0, result.output
    brief = json.loads(result.stdout)
    jsonschema.Draft202012Validator(SCHEMA).validate(brief)
    sigma = [h for h in brief["hunts"] if h["kind"] == "sigma"]
    assert [h["id"] for h in sigma] == ["SIGMA_11111111_2222_4333_8444_555555555555"]
    assert "by Jane Analyst (huntbrief tests)" in sigma[0]["attribution"]
    assert set(sigma[0]["queries"]) == {"splunk", "kql"}
    assert any((tmp_path / "xdg-cache" / "huntbrief" / "sigma").iterdir()), "compiled rules are cached"
    markdown = runner.invoke(app, ["brief", str(REPORT), "--sigma-rules", str(rules)])
    assert "_Source: Sigma rule" in markdown.stdout and "Detection Rule License" in markdown.stdout


def test_a_missing_rule_folder_is_a_usage_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["brief", str(REPORT), "--sigma-rules", str(tmp_path / "nope")])
    assert result.exit_code == 2
    assert "not a folder of Sigma rules" in " ".join(result.output.split())


def _settings(tmp_path: Path, extra: str) -> Path:
    """A settings file over a copy-free pointer at the bundled example feeds, plus `extra` keys."""
    example = Path(__file__).resolve().parents[2] / "examples" / "feeds"
    path = tmp_path / "huntbrief.toml"
    path.write_text(
        f'db = "state.db"\nout = "out"\n{extra}\n'
        f'[[sources]]\nname = "Northwind Threat Research"\nurl = "{example / "research.xml"}"\n',
        encoding="utf-8",
    )
    return path


def test_run_takes_backends_tlp_and_sigma_rules_from_the_settings_in_worker_processes(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    _write(rules, "windows/service.yml", SERVICE_RULE)
    path = _settings(
        tmp_path,
        'sigma_rules = "rules"\nbackends = ["sentinel", "splunk_plain"]\ntlp = "amber"\n'
        'formats = ["json", "stix"]\nworkers = 1\n',
    )
    result = runner.invoke(app, ["run", str(path), "--quiet"])
    assert result.exit_code == 0, result.output
    briefs = [json.loads(p.read_text()) for p in (tmp_path / "out").glob("*.json") if p.name.count(".") == 1]
    briefs = [b for b in briefs if "hunts" in b]
    hunts = [h for b in briefs for h in b["hunts"]]
    assert hunts and {q for h in hunts for q in h["queries"]} <= {"sentinel", "splunk_plain"}
    assert any(h["kind"] == "sigma" and "Jane Analyst" in h["attribution"] for h in hunts)
    stix = next((tmp_path / "out").glob("*lockdrift*.stix.json")).read_text()
    assert "TLP:AMBER" in stix and "TLP:CLEAR" not in stix


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ('backends = ["splunk", "qradar"]', "unknown query backend qradar"),
        ('tlp = "white"', "tlp"),
    ],
)
def test_bad_analysis_settings_name_the_file_and_line(tmp_path: Path, extra: str, message: str) -> None:
    result = runner.invoke(app, ["run", str(_settings(tmp_path, extra))])
    assert result.exit_code == 2
    text = "".join(result.output.split())  # Rich may wrap anywhere, even inside a path
    assert message.replace(" ", "") in text and "huntbrief.toml:3" in text


def test_brief_options_for_backends_and_tlp(tmp_path: Path) -> None:
    result = runner.invoke(app, ["brief", str(REPORT), "--format", "json", "--backends", "elastic"])
    assert result.exit_code == 0, result.output
    assert {b for h in json.loads(result.stdout)["hunts"] for b in h["queries"]} == {"elastic"}
    stix = runner.invoke(app, ["brief", str(REPORT), "--format", "stix", "--tlp", "TLP:RED"])
    assert stix.exit_code == 0 and "TLP:RED" in stix.stdout
    bad = runner.invoke(app, ["brief", str(REPORT), "--backends", "qradar"])
    assert bad.exit_code == 2 and "valid: splunk" in " ".join(bad.output.split())
