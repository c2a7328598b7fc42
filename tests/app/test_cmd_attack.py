"""`huntbrief attack update|version`: install a newer STIX bundle (file or URL) that the loader prefers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from huntbrief.app.cmd_attack import attack_app
from huntbrief.catalog.attack import default_user_path, load_attack_catalog
from tests import localserver
from tests.localserver import LocalServer

local_server = localserver.local_server
runner = CliRunner()
PACKAGED = (
    Path(__file__).resolve().parents[2] / "src" / "huntbrief" / "catalog" / "data" / "attack-enterprise.json"
)


@pytest.fixture
def data_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private user data directory (platformdirs honours XDG_DATA_HOME on Linux)."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    target = default_user_path()
    assert target.is_relative_to(tmp_path)
    return target


def _ref(external_id: str) -> list[dict[str, str]]:
    return [{"source_name": "mitre-attack", "external_id": external_id}]


def _phase(shortname: str) -> dict[str, str]:
    return {"kill_chain_name": "mitre-attack", "phase_name": shortname}


def stix_bundle(version: str, drop: tuple[str, ...] = ()) -> dict[str, Any]:
    """An official-shaped STIX bundle rebuilt from the packaged catalogue, labelled `version`."""
    compact = json.loads(PACKAGED.read_text(encoding="utf-8"))
    tactics = [
        {"type": "x-mitre-tactic", "id": f"x-mitre-tactic--{t['shortname']}", "name": t["name"],
         "x_mitre_shortname": t["shortname"], "external_references": _ref(t["id"])}
        for t in compact["tactics"]
    ]  # fmt: skip
    objects: list[dict[str, Any]] = [
        {"type": "x-mitre-collection", "id": "x-mitre-collection--1", "x_mitre_version": version},
        {"type": "x-mitre-matrix", "id": "x-mitre-matrix--1", "tactic_refs": [t["id"] for t in tactics]},
        *tactics,
    ]
    for tid, tech in compact["techniques"].items():
        if tid in drop:
            continue
        objects.append(
            {"type": "attack-pattern", "id": f"attack-pattern--{tid}", "name": tech["name"],
             "external_references": _ref(tid), "x_mitre_is_subtechnique": tech["is_subtechnique"],
             "x_mitre_platforms": tech["platforms"],
             "kill_chain_phases": [_phase(s) for s in tech["tactics"]]}
        )  # fmt: skip
    for kind, entries in (("intrusion-set", compact["groups"]), ("software", compact["software"])):
        for eid, entity in entries.items():
            stix_type = entity.get("type", kind)
            objects.append(
                {"type": stix_type, "id": f"{stix_type}--{eid}", "name": entity["name"],
                 "aliases": entity["aliases"], "external_references": _ref(eid)}
            )  # fmt: skip
    return {"type": "bundle", "id": "bundle--test", "objects": objects}


def _app() -> typer.Typer:
    root = typer.Typer()
    root.add_typer(attack_app, name="attack")
    return root


def test_update_from_a_file_installs_a_newer_catalogue_that_the_loader_prefers(
    tmp_path: Path, data_home: Path
) -> None:
    bundle = tmp_path / "enterprise-attack.json"
    bundle.write_text(json.dumps(stix_bundle("99.0")), encoding="utf-8")
    result = runner.invoke(_app(), ["attack", "update", "--from", str(bundle)])
    assert result.exit_code == 0, result.output
    assert "ATT&CK 99.0 (" in result.output and str(data_home) in result.output
    catalog = load_attack_catalog()
    assert catalog.version == "99.0" and catalog.location == str(data_home)
    assert catalog.get("T1543.003") is not None
    assert [p.name for p in data_home.parent.iterdir()] == [data_home.name]  # no temp file left
    shown = runner.invoke(_app(), ["attack", "version"])
    assert shown.exit_code == 0 and "ATT&CK Enterprise 99.0" in shown.output
    assert str(data_home) in shown.output and "technique model:" in shown.output


def test_update_from_a_url_on_the_local_server(local_server: LocalServer, data_home: Path) -> None:
    local_server.route("/enterprise-attack.json", body=json.dumps(stix_bundle("98.2")))
    url = local_server.url("/enterprise-attack.json")
    refused = runner.invoke(_app(), ["attack", "update", "--from", url])
    assert refused.exit_code == 1 and not data_home.exists()  # private address without the flag
    result = runner.invoke(_app(), ["attack", "update", "--from", url, "--allow-private-networks"])
    assert result.exit_code == 0, result.output
    assert load_attack_catalog().version == "98.2"


def test_an_older_bundle_is_saved_but_the_packaged_catalogue_stays_in_use(
    tmp_path: Path, data_home: Path
) -> None:
    bundle = tmp_path / "old.json"
    bundle.write_text(json.dumps(stix_bundle("1.0")), encoding="utf-8")
    result = runner.invoke(_app(), ["attack", "update", "--from", str(bundle)])
    assert result.exit_code == 0
    assert "is newer and stays in use" in result.output
    assert load_attack_catalog().version != "1.0"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not valid JSON"),
        (json.dumps({"type": "bundle", "objects": []}), "not an ATT&CK Enterprise bundle"),
        (json.dumps(stix_bundle("99.0", drop=("T1543.003",))), "T1543.003"),
    ],
)
def test_a_bad_or_incompatible_bundle_is_refused_and_nothing_is_written(
    tmp_path: Path, data_home: Path, content: str, message: str
) -> None:
    bundle = tmp_path / "bad.json"
    bundle.write_text(content, encoding="utf-8")
    result = runner.invoke(_app(), ["attack", "update", "--from", str(bundle)])
    assert result.exit_code == 2
    assert message in result.output
    assert not data_home.exists()


def test_a_damaged_user_copy_falls_back_to_the_packaged_catalogue(data_home: Path) -> None:
    data_home.parent.mkdir(parents=True)
    data_home.write_text("{broken", encoding="utf-8")
    assert load_attack_catalog().location.endswith("attack-enterprise.json")
    assert load_attack_catalog().location != str(data_home)
