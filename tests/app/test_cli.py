"""The command line: documented commands, exit codes, clear errors, and each stage on its own."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import jsonschema
import pytest
from typer.testing import CliRunner

from huntbrief.app.cli import app

REPO = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((REPO / "src/huntbrief/schema/brief.schema.json").read_text())
REPORT = REPO / "examples/feeds/articles/2026-11-lockdrift-ransomware-gateway-intrusion.html"
runner = CliRunner()


def _commands() -> list[str]:
    """Every leaf command as its words, e.g. "run", "hunts list"."""
    import typer.main

    def walk(cmd: typer.main.click.Command, prefix: str) -> list[str]:  # type: ignore[name-defined]
        if hasattr(cmd, "commands"):
            return [
                w for name, sub in sorted(cmd.commands.items()) for w in walk(sub, f"{prefix} {name}".strip())
            ]
        return [prefix]

    return walk(typer.main.get_command(app), "")


def test_every_command_has_help_with_an_example_and_is_in_the_readme() -> None:
    readme = (REPO / "README.md").read_text()
    commands = _commands()
    assert {"run", "brief", "iocs", "techniques"} <= set(commands)
    for name in commands:
        result = runner.invoke(app, [*name.split(), "--help"])
        assert result.exit_code == 0, name
        assert "Example: huntbrief" in result.output, f"`{name}` help has no example"
        assert re.search(rf"^huntbrief {name}\b", readme, re.M), f"`huntbrief {name}` missing from README"


def test_brief_json_follows_the_schema() -> None:
    result = runner.invoke(app, ["brief", str(REPORT), "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    jsonschema.validate(data, SCHEMA)
    assert data["severity"]["level"] in ("HIGH", "CRITICAL")
    assert any(t["id"] == "T1543.003" for t in data["techniques"])


def test_brief_markdown_has_the_sections_in_order() -> None:
    result = runner.invoke(app, ["brief", str(REPORT)])
    assert result.exit_code == 0, result.output
    heads = [
        "## Threat Profile",
        "## Indicators of Compromise",
        "## MITRE ATT&CK Techniques",
        "## Kill chain phases observed",
        "## Recommended hunts",
        "## Why this matters",
    ]
    positions = [result.stdout.index(h) for h in heads]
    assert positions == sorted(positions) and result.stdout.startswith("# [")
    assert "```spl" in result.stdout and "```kql" in result.stdout


def test_brief_from_stdin_with_metadata() -> None:
    text = "Operators ran vssadmin delete shadows /all /quiet, then contacted 185.220.101[.]47 for C2.\n"
    result = runner.invoke(
        app,
        [
            "brief",
            "-",
            "--format",
            "json",
            "--title",
            "Note",
            "--source",
            "paste",
            "--published",
            "2026-11-30",
        ],
        input=text,
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert (data["title"], data["source"], data["published"][:10]) == ("Note", "paste", "2026-11-30")
    assert data["text_origin"] == "stdin"
    assert "185.220.101.47" in {i["value"] for i in data["iocs"]}


def test_iocs_formats(tmp_path: Path) -> None:
    src = tmp_path / "r.txt"
    src.write_text("C2 server: 185.220.101[.]47 and hxxps://update-cdn-sync[.]com/gate.php\n")
    as_json = json.loads(runner.invoke(app, ["iocs", str(src)]).stdout)
    assert set(as_json) == {"iocs", "suppressed"}
    rows = list(csv.DictReader(io.StringIO(runner.invoke(app, ["iocs", str(src), "-f", "csv"]).stdout)))
    assert {"185.220.101.47", "https://update-cdn-sync.com/gate.php"} <= {r["value"] for r in rows}
    text = runner.invoke(app, ["iocs", str(src), "-f", "text"]).stdout.split()
    assert "185.220.101.47" in text


def test_techniques_json() -> None:
    result = runner.invoke(app, ["techniques", str(REPORT), "--format", "json"])
    data = json.loads(result.stdout)
    assert set(data) == {"techniques"} and all(re.match(r"^T\d{4}", t["id"]) for t in data["techniques"])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["brief", "no/such/file.html"], "neither an http(s) URL"),
        (["run", "no/such/feed.xml"], "neither an http(s) URL nor an existing file"),
        (["run", "--formats", "pdf", "x"], "unknown output format"),
        (["run", "--every", "soon"], "invalid duration"),
    ],
)
def test_usage_errors_exit_2_with_a_clear_message(args: list[str], message: str) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert message in " ".join(result.output.split())


def test_invalid_settings_file_names_file_and_line(tmp_path: Path) -> None:
    cfg = tmp_path / "huntbrief.toml"
    cfg.write_text(
        'out = "b"\n\n[[sources]]\nname = "A"\nurl = "https://a.example/feed"\n\n'
        '[[sources]]\nname = "B"\nurl = "https://b.example/feed"\nweight = "heavy"\n'
    )
    result = runner.invoke(app, ["run", str(cfg)])
    assert result.exit_code == 2
    assert f"{cfg}:10" in " ".join(result.output.split()).replace(" ", "") or f"{cfg}:10" in result.output


def test_binary_input_is_refused(tmp_path: Path) -> None:
    junk = tmp_path / "x.txt"
    junk.write_bytes(b"\x00\x01\x02binary\x00" * 100)
    result = runner.invoke(app, ["iocs", str(junk)])
    assert result.exit_code == 2 and "binary" in result.output


def test_run_on_the_example_twice_is_incremental(tmp_path: Path) -> None:
    args = [
        "run",
        str(REPO / "examples/huntbrief.toml"),
        "--db",
        str(tmp_path / "s.db"),
        "--out",
        str(tmp_path / "out"),
        "--quiet",
    ]
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    assert "items: 6 new" in first.stdout
    second = runner.invoke(app, args)
    assert second.exit_code == 0 and "items: 0 new" in second.stdout and "briefs written: 0" in second.stdout
    index = json.loads((tmp_path / "out/index.json").read_text())["briefs"]
    levels = {row["title"]: row["severity"] for row in index}
    assert len(levels) == 6
    assert sum(level == "INFO" for level in levels.values()) >= 2


def test_a_second_run_on_the_same_folder_is_refused_while_the_first_holds_it(tmp_path: Path) -> None:
    from huntbrief.adapters.lock import RunLock

    out = tmp_path / "out"
    with RunLock(out):
        result = runner.invoke(
            app,
            [
                "run",
                str(REPO / "examples/huntbrief.toml"),
                "--db",
                str(tmp_path / "s.db"),
                "--out",
                str(out),
                "--quiet",
            ],
        )
    assert result.exit_code == 1 and "another huntbrief run" in " ".join(result.output.split())
    again = runner.invoke(
        app,
        [
            "run",
            str(REPO / "examples/huntbrief.toml"),
            "--db",
            str(tmp_path / "s.db"),
            "--out",
            str(out),
            "--quiet",
        ],
    )
    assert again.exit_code == 0, again.output


ARTICLES = REPO / "examples" / "feeds" / "articles"


@pytest.mark.parametrize(
    ("name", "levels"),
    [
        ("2026-11-advisory-tessaline-cve-2026-41234.html", {"MEDIUM"}),  # a CVE, no exploitation
        ("2026-11-lockdrift-ransomware-gateway-intrusion.html", {"HIGH", "CRITICAL"}),  # KEV CVE, IOCs
        ("2026-11-northwind-harborlight-corvane-partnership.html", {"INFO"}),  # a partnership
        ("2026-11-five-things-cisos-budget-2027.html", {"LOW", "INFO"}),  # an opinion piece
    ],
)
def test_the_example_articles_get_the_severity_a_soc_expects(name: str, levels: set[str]) -> None:
    result = runner.invoke(app, ["brief", str(ARTICLES / name), "--format", "json"])
    assert result.exit_code == 0, result.output
    brief = json.loads(result.stdout)
    assert brief["severity"]["level"] in levels, brief["severity"]
    if brief["severity"]["level"] == "INFO":
        assert brief["techniques"] == [] and brief["hunts"] == []
