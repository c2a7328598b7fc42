"""`[[notify]]` and `misp_url` settings: validated at load, errors name the file and line, env resolved."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from huntbrief.adapters.targets import delivery_targets
from huntbrief.config import load_settings, sources_from_args
from huntbrief.errors import ConfigError
from huntbrief.model import SeverityLevel
from tests.test_outputs.briefs import rich_brief

GOOD = """\
db = "state.db"
misp_url = "https://misp.example"

[[sources]]
name = "Lab"
url = "https://lab.example/feed.xml"

[[notify]]
name = "soc-slack"
kind = "slack"
url = "env:SLACK_HOOK"
min_severity = "critical"

[[notify]]                 # every brief of Lab, to our own service
kind = "webhook"
url = "https://hooks.example/huntbrief"
min_severity = "INFO"
sources = ["lab"]
headers = { Authorization = "env:HOOK_TOKEN", X-Team = "hunt" }

[[notify]]
kind = "teams"
url = "https://tenant.example/workflows/abc"
"""
ENV = {
    "SLACK_HOOK": "https://hooks.slack.com/services/T0/B0/S3CRET",
    "HOOK_TOKEN": "Bearer t0k3n",
    "HUNTBRIEF_MISP_KEY": "k3y",
}


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "huntbrief.toml"
    path.write_text(text)
    return path


def test_notify_entries_load_with_defaults(tmp_path: Path) -> None:
    settings = load_settings(_write(tmp_path, GOOD))
    slack, hook, teams = settings.notify
    assert (slack.kind, slack.name, slack.min_level) == ("slack", "soc-slack", SeverityLevel.CRITICAL)
    assert hook.sources == ("lab",) and hook.min_level is SeverityLevel.INFO
    assert dict(hook.headers) == {"Authorization": "env:HOOK_TOKEN", "X-Team": "hunt"}
    assert teams.min_level is SeverityLevel.HIGH and teams.name is None  # the default threshold
    assert slack.location == f"{tmp_path / 'huntbrief.toml'}:8"
    assert settings.model.misp_url == "https://misp.example"


def test_targets_resolve_environment_references(tmp_path: Path) -> None:
    settings = load_settings(_write(tmp_path, GOOD))
    slack, hook, teams, misp = delivery_targets(settings, misp_url=None, env=ENV)
    assert slack.url == ENV["SLACK_HOOK"] and slack.id == "slack:soc-slack" and slack.label == "soc-slack"
    assert "S3CRET" not in teams.label and "S3CRET" not in slack.label
    assert dict(hook.headers) == {"Authorization": "Bearer t0k3n", "X-Team": "hunt"}
    assert "Bearer t0k3n" in hook.secrets and "hunt" not in hook.secrets
    assert hook.id.startswith("webhook:") and hook.id != teams.id
    assert (misp.kind, misp.url, dict(misp.headers)["Authorization"]) == (
        "misp",
        "https://misp.example",
        "k3y",
    )
    cli = delivery_targets(settings, misp_url="https://other.example", env=ENV)[-1]
    assert cli.url == "https://other.example"  # --misp-url wins over the settings key


def test_target_ids_survive_a_rotated_secret(tmp_path: Path) -> None:
    settings = load_settings(_write(tmp_path, GOOD))
    rotated = {**ENV, "SLACK_HOOK": "https://hooks.slack.com/services/T0/B0/NEW", "HOOK_TOKEN": "Bearer new"}
    assert [t.id for t in delivery_targets(settings, misp_url=None, env=ENV)] == [
        t.id for t in delivery_targets(settings, misp_url=None, env=rotated)
    ]


@pytest.mark.parametrize(
    ("missing", "line"),
    [("SLACK_HOOK", 8), ("HOOK_TOKEN", 14), ("HUNTBRIEF_MISP_KEY", None)],
)
def test_an_unset_variable_is_a_config_error_naming_the_entry(
    tmp_path: Path, missing: str, line: int | None
) -> None:
    settings = load_settings(_write(tmp_path, GOOD))
    env = {k: v for k, v in ENV.items() if k != missing}
    with pytest.raises(ConfigError, match=missing) as caught:
        delivery_targets(settings, misp_url=None, env=env)
    if line is not None:
        assert str(caught.value).startswith(f"{tmp_path / 'huntbrief.toml'}:{line}: ")


@pytest.mark.parametrize(
    ("entry", "line", "message"),
    [
        ('kind = "discord"\nurl = "https://x.example/h"', 4, "notify.0.kind"),
        ('kind = "slack"\nurl = "https://x.example/h"\nmin_severity = "urgent"', 6, "notify.0.min_severity"),
        ('kind = "slack"\nurl = "https://x.example/h"\nchannel = "#soc"', 6, "notify.0.channel: Extra"),
        ('kind = "slack"\nurl = "ftp://x.example/h"', 5, "notify.0.url"),
        ('kind = "slack"\nurl = "env:not-a-name"', 5, "environment reference"),
        ('kind = "webhook"\nurl = "https://x.example/h"\nheaders = { Authorization = "Bearer abc" }', 6,
         "put the secret in an environment variable"),
        ('kind = "webhook"\nurl = "https://x.example/h"\nheaders = { "Bad Header" = "x" }', 6,
         "not a valid HTTP header name"),
        ('url = "https://x.example/h"', 3, "notify.0.kind: Field required"),
    ],
)  # fmt: skip
def test_bad_notify_entries_name_the_file_and_line(
    tmp_path: Path, entry: str, line: int, message: str
) -> None:
    path = _write(tmp_path, f'out = "b"\n\n[[notify]]\n{entry}\n')
    with pytest.raises(ConfigError, match=message) as caught:
        load_settings(path)
    assert caught.value.location == f"{path}:{line}"


def test_the_second_entry_and_a_duplicate_name_are_located(tmp_path: Path) -> None:
    one = '[[notify]]\nname = "ops"\nkind = "slack"\nurl = "https://x.example/a"\n\n'
    path = _write(tmp_path, one + one.replace("slack", "teams"))
    with pytest.raises(ConfigError, match="'ops' is used by another entry") as caught:
        load_settings(path)
    assert caught.value.location == f"{path}:7"
    path = _write(
        tmp_path, one + '[[notify]]\nkind = "teams"\nurl = "https://x.example/a"\nmin_severity = 3\n'
    )
    with pytest.raises(ConfigError, match="notify.1.min_severity") as caught:
        load_settings(path)
    assert caught.value.location == f"{path}:9"


def test_a_bad_misp_url_is_located(tmp_path: Path) -> None:
    path = _write(tmp_path, 'out = "b"\nmisp_url = "misp.example"\n')
    with pytest.raises(ConfigError, match="misp_url") as caught:
        load_settings(path)
    assert caught.value.location == f"{path}:2"


def test_a_source_filter_must_name_a_polled_feed(tmp_path: Path) -> None:
    path = _write(tmp_path, GOOD.replace('sources = ["lab"]', 'sources = ["Lab", "Labb"]'))
    with pytest.raises(ConfigError, match="'Labb' is not the name of a polled feed") as caught:
        sources_from_args([str(path)], tmp_path)
    assert caught.value.location == f"{path}:14"
    found, settings = sources_from_args([str(_write(tmp_path, GOOD))], tmp_path)
    assert [s.name for s in found] == ["Lab"] and len(settings.notify) == 3


def test_misp_min_severity_filters_what_goes_to_misp(tmp_path: Path) -> None:
    every = delivery_targets(load_settings(_write(tmp_path, GOOD)), misp_url=None, env=ENV)[-1]
    assert every.kind == "misp" and every.min_level is None  # default: every brief
    text = GOOD.replace(
        'misp_url = "https://misp.example"', 'misp_url = "https://misp.example"\nmisp_min_severity = "medium"'
    )
    misp = delivery_targets(load_settings(_write(tmp_path, text)), misp_url=None, env=ENV)[-1]
    assert misp.min_level is SeverityLevel.MEDIUM
    brief = rich_brief()  # HIGH
    info = replace(brief, severity=replace(brief.severity, level=SeverityLevel.INFO))
    assert misp.wants(brief) and not misp.wants(info) and every.wants(info)
    bad = GOOD.replace(
        'misp_url = "https://misp.example"', 'misp_url = "https://misp.example"\nmisp_min_severity = "loud"'
    )
    with pytest.raises(ConfigError, match="misp_min_severity"):
        load_settings(_write(tmp_path, bad))
