"""ATT&CK catalogue, kill-chain mapping and technique aliases: load, look up, validate, rebuild."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from huntbrief.catalog.attack import (
    AttackCatalog,
    compact_from_stix,
    load_attack_catalog,
    render_compact,
)
from huntbrief.catalog.datafile import required_literals
from huntbrief.catalog.killchain import KillChainMapping, kill_chain_from_text, load_kill_chain
from huntbrief.catalog.technique_aliases import (
    TechniqueAliases,
    aliases_from_text,
    load_technique_aliases,
)
from huntbrief.errors import CatalogError

DATA = Path(__file__).resolve().parents[1] / "src" / "huntbrief" / "catalog" / "data"
PACKAGED_JSON = DATA / "attack-enterprise.json"
ALIASES_YAML = DATA / "technique_aliases.yaml"
KILLCHAIN_YAML = DATA / "killchain.yaml"


@pytest.fixture(scope="module")
def catalog() -> AttackCatalog:
    return load_attack_catalog()


@pytest.fixture(scope="module")
def aliases(catalog: AttackCatalog) -> TechniqueAliases:
    return load_technique_aliases(catalog)


@pytest.fixture(scope="module")
def bundle() -> dict[str, Any]:
    shared = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
    path = shared / "attack" / "enterprise-attack-lite.json"
    if not path.is_file():
        pytest.skip(f"shared ATT&CK bundle not found at {path}")
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


# --- packaged catalogue --------------------------------------------------------------------------


def test_packaged_catalog_loads_with_expected_shape(catalog: AttackCatalog) -> None:
    assert catalog.version == "18.1"
    assert len(catalog.techniques) > 600
    assert [t.shortname for t in catalog.tactics][:3] == [
        "reconnaissance",
        "resource-development",
        "initial-access",
    ]
    assert [t.order for t in catalog.tactics] == list(range(1, len(catalog.tactics) + 1))
    assert len(catalog.tactics) == 14
    assert catalog.groups["G0007"].name == "APT28" and "Fancy Bear" in catalog.groups["G0007"].aliases
    mimikatz = catalog.software["S0002"]
    assert (mimikatz.name, mimikatz.kind) == ("Mimikatz", "tool")
    assert load_attack_catalog() is catalog  # the packaged load is cached


def test_packaged_json_is_compact_and_canonical() -> None:
    text = PACKAGED_JSON.read_text(encoding="utf-8")
    assert len(text.encode("utf-8")) < 400_000
    assert render_compact(json.loads(text)) == text  # sorted keys, canonical layout
    assert "description" not in text


def test_get_normalises_case_and_url_form(catalog: AttackCatalog) -> None:
    powershell = catalog.get("t1059.001")
    assert powershell is not None and powershell.name == "PowerShell"
    assert catalog.get("T1059/001") == powershell
    assert powershell.parent == "T1059" and powershell.is_subtechnique
    assert catalog.get("T1059") is not None and not catalog.techniques["T1059"].is_subtechnique


@pytest.mark.parametrize(
    ("old", "new"),
    [("T1086", "T1059.001"), ("T1050", "T1543.003"), ("T1574.002", "T1574.001"), ("t1089", "T1562.001")],
)
def test_revoked_ids_resolve_to_their_replacement(catalog: AttackCatalog, old: str, new: str) -> None:
    assert catalog.resolve(old) == new
    technique = catalog.get(old)
    assert technique is not None and technique.id == new


@pytest.mark.parametrize("unknown", ["T9999", "TA0001", "S0002", "", "T1059.999"])
def test_unknown_ids_give_none(catalog: AttackCatalog, unknown: str) -> None:
    assert catalog.get(unknown) is None
    assert catalog.resolve(unknown) is None


def test_parent_and_tactic_names(catalog: AttackCatalog) -> None:
    parent = catalog.parent_of("T1053.005")
    assert parent is not None and parent.id == "T1053"
    assert catalog.parent_of("T1053") is None and catalog.parent_of("T0000") is None
    service = catalog.techniques["T1543.003"]
    assert service.tactics == ("persistence", "privilege-escalation")
    assert catalog.tactic_names(service) == ("Persistence", "Privilege Escalation")


def test_every_subtechnique_parent_exists(catalog: AttackCatalog) -> None:
    for technique in catalog.techniques.values():
        assert technique.is_subtechnique == (technique.parent is not None)
        if technique.parent:
            assert technique.id.startswith(technique.parent + ".")
            assert technique.parent in catalog.techniques


# --- loading errors ------------------------------------------------------------------------------


def _write(tmp_path: Path, data: object, name: str = "attack.json") -> Path:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return path


def _compact() -> dict[str, Any]:
    compact: dict[str, Any] = json.loads(PACKAGED_JSON.read_text(encoding="utf-8"))
    return compact


def test_missing_file_is_a_catalog_error(tmp_path: Path) -> None:
    with pytest.raises(CatalogError) as info:
        load_attack_catalog(tmp_path / "nope.json")
    assert info.value.location == str(tmp_path / "nope.json")


def test_invalid_json_names_file_and_line(tmp_path: Path) -> None:
    path = _write(tmp_path, '{\n "version": "1",\n oops\n}')
    with pytest.raises(CatalogError) as info:
        load_attack_catalog(path)
    assert info.value.location == f"{path}:3"


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda c: c.pop("techniques"), "missing key 'techniques'"),
        (lambda c: c.pop("version"), "missing key 'version'"),
        (lambda c: c["techniques"]["T1059.001"].pop("name"), "technique T1059.001: missing key 'name'"),
        (lambda c: c["techniques"]["T1059.001"].update(tactics=["nowhere"]), "unknown tactic"),
        (lambda c: c["techniques"].pop("T1059"), "unknown parent T1059"),
        (lambda c: c["techniques"].update({"X1": c["techniques"]["T1059"]}), "not a technique ID"),
        (lambda c: c["tactics"][0].update(order="1"), "'order' must be int"),
        (lambda c: c["software"]["S0002"].pop("type"), "software S0002: missing key 'type'"),
        (lambda c: c.update(revoked={"T1086": 5}), "revoked"),
    ],
)
def test_bad_compact_catalog_is_rejected(tmp_path: Path, mutate: Any, message: str) -> None:
    compact = _compact()
    mutate(compact)
    path = _write(tmp_path, compact)
    with pytest.raises(CatalogError, match=message) as info:
        load_attack_catalog(path)
    assert info.value.location == str(path)


def test_user_given_compact_file_loads(tmp_path: Path, catalog: AttackCatalog) -> None:
    loaded = load_attack_catalog(_write(tmp_path, _compact()))
    assert loaded == catalog and loaded is not catalog


# --- STIX bundles ---------------------------------------------------------------------------------


def _ref(kind: str, ext_id: str) -> list[dict[str, str]]:
    return [{"source_name": "mitre-attack", "external_id": ext_id, "url": f"https://attack.mitre.org/{kind}"}]


def _mini_bundle() -> dict[str, Any]:
    """A small full-style bundle: no x_lite keys, so revocations come from relationships."""
    phase = [{"kill_chain_name": "mitre-attack", "phase_name": "execution"}]
    pattern = {"type": "attack-pattern", "kill_chain_phases": phase, "x_mitre_platforms": ["Windows"]}
    return {
        "type": "bundle",
        "id": "bundle--1",
        "objects": [
            {"type": "x-mitre-collection", "id": "x-mitre-collection--1", "x_mitre_version": "9.9"},
            {"type": "x-mitre-tactic", "id": "x-mitre-tactic--e", "name": "Execution",
             "x_mitre_shortname": "execution", "external_references": _ref("tactics", "TA0002")},
            {"type": "x-mitre-matrix", "id": "x-mitre-matrix--1", "tactic_refs": ["x-mitre-tactic--e"]},
            {**pattern, "id": "attack-pattern--p", "name": "Command and Scripting Interpreter",
             "external_references": _ref("techniques", "T1059")},
            {**pattern, "id": "attack-pattern--s", "name": "PowerShell", "x_mitre_is_subtechnique": True,
             "x_mitre_data_sources": ["Command: Command Execution"],
             "external_references": _ref("techniques", "T1059.001"), "description": "long text"},
            {**pattern, "id": "attack-pattern--old", "name": "PowerShell", "revoked": True,
             "external_references": _ref("techniques", "T1086")},
            {**pattern, "id": "attack-pattern--dep", "name": "Scripting", "x_mitre_deprecated": True,
             "external_references": _ref("techniques", "T1064")},
            {"type": "relationship", "id": "relationship--1", "relationship_type": "revoked-by",
             "source_ref": "attack-pattern--old", "target_ref": "attack-pattern--s"},
            {"type": "intrusion-set", "id": "intrusion-set--1", "name": "APT28",
             "aliases": ["APT28", "Fancy Bear"], "external_references": _ref("groups", "G0007")},
            {"type": "tool", "id": "tool--1", "name": "Mimikatz", "x_mitre_aliases": ["Mimikatz"],
             "external_references": _ref("software", "S0002")},
        ],
    }  # fmt: skip


def test_compact_from_stix_converts_a_full_style_bundle() -> None:
    compact = compact_from_stix(_mini_bundle())
    assert compact["version"] == "9.9"
    assert compact["tactics"] == [{"id": "TA0002", "shortname": "execution", "name": "Execution", "order": 1}]
    assert set(compact["techniques"]) == {"T1059", "T1059.001"}  # revoked and deprecated dropped
    assert compact["techniques"]["T1059.001"] == {
        "name": "PowerShell",
        "tactics": ["execution"],
        "platforms": ["Windows"],
        "data_sources": ["Command: Command Execution"],
        "parent": "T1059",
        "is_subtechnique": True,
    }
    assert compact["revoked"] == {"T1086": "T1059.001"}
    assert compact["groups"] == {"G0007": {"name": "APT28", "aliases": ["Fancy Bear"]}}
    assert compact["software"] == {"S0002": {"name": "Mimikatz", "aliases": [], "type": "tool"}}
    assert "long text" not in render_compact(compact)


def test_loader_accepts_a_stix_bundle_file(tmp_path: Path) -> None:
    loaded = load_attack_catalog(_write(tmp_path, _mini_bundle(), "enterprise-attack.json"))
    assert loaded.version == "9.9"
    assert loaded.get("T1086") == loaded.techniques["T1059.001"]
    assert loaded.parent_of("T1059.001") == loaded.techniques["T1059"]


def test_malformed_bundle_is_a_catalog_error(tmp_path: Path) -> None:
    broken = _mini_bundle()
    del broken["objects"][1]["x_mitre_shortname"]
    path = _write(tmp_path, broken)
    with pytest.raises(CatalogError, match="malformed STIX bundle") as info:
        load_attack_catalog(path)
    assert info.value.location == str(path)


def test_build_from_shared_bundle_is_reproducible(bundle: dict[str, Any]) -> None:
    first, second = compact_from_stix(bundle), compact_from_stix(json.loads(json.dumps(bundle)))
    assert first == second
    assert render_compact(first) == render_compact(second)


def test_committed_json_equals_a_fresh_build(bundle: dict[str, Any]) -> None:
    fresh = render_compact(compact_from_stix(bundle))
    assert fresh == PACKAGED_JSON.read_text(encoding="utf-8"), (
        "run scripts/build_attack.py and commit the result"
    )


def test_every_revoked_technique_in_the_bundle_resolves(
    bundle: dict[str, Any], catalog: AttackCatalog
) -> None:
    revoked = {k: v for k, v in bundle["x_lite_revoked_map"].items() if k.startswith("T")}
    assert len(revoked) > 50
    for old, new in revoked.items():
        if new in catalog.techniques:
            assert catalog.resolve(old) == new


def test_build_script_writes_the_same_bytes(bundle: dict[str, Any], tmp_path: Path) -> None:
    import subprocess
    import sys

    script = Path(__file__).resolve().parents[1] / "scripts" / "build_attack.py"
    source = (
        Path(__file__).resolve().parents[1]
        / ".."
        / "shared"
        / "data"
        / "attack"
        / "enterprise-attack-lite.json"
    )
    outputs = [tmp_path / "a.json", tmp_path / "b.json"]
    for output in outputs:
        subprocess.run(
            [sys.executable, str(script), str(source), "-o", str(output)], check=True, capture_output=True
        )
    assert outputs[0].read_bytes() == outputs[1].read_bytes() == PACKAGED_JSON.read_bytes()


# --- kill-chain mapping ---------------------------------------------------------------------------


def test_kill_chain_maps_every_tactic(catalog: AttackCatalog) -> None:
    mapping = load_kill_chain(catalog)
    assert isinstance(mapping, KillChainMapping)
    assert mapping.phases[0] == "reconnaissance" and mapping.phases[-1] == "actions-on-objectives"
    assert len(mapping.phases) == 7
    assert {t.shortname for t in catalog.tactics} == set(mapping.tactic_phase)
    assert mapping.phase_of("initial-access") == "delivery"
    assert mapping.phase_of("command-and-control") == "command-and-control"
    assert mapping.ordered({"command-and-control", "delivery", "nonsense"}) == (
        "delivery",
        "command-and-control",
    )
    assert {cue.phase for cue in mapping.cues} >= {"weaponization", "delivery", "exploitation"}


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            lambda d: d["tactics"].update({"made-up-tactic": "delivery"}),
            "unknown ATT&CK tactic 'made-up-tactic'",
        ),
        (lambda d: d["tactics"].update({"execution": "detonation"}), "unknown phase 'detonation'"),
        (lambda d: d["tactics"].pop("impact"), "without a kill-chain phase"),
        (lambda d: d["cues"].update({"detonation": ["boom"]}), "cues: unknown phase"),
        (lambda d: d["cues"].update({"delivery": ["(unclosed"]}), "bad regex"),
        (lambda d: d.update(phases=["a", "a"]), "twice"),
    ],
)
def test_bad_kill_chain_is_rejected(catalog: AttackCatalog, edit: Any, message: str) -> None:
    data = yaml.safe_load(KILLCHAIN_YAML.read_text(encoding="utf-8"))
    edit(data)
    with pytest.raises(CatalogError, match=message) as info:
        kill_chain_from_text(yaml.safe_dump(data, sort_keys=False), catalog, "killchain.yaml")
    assert str(info.value.location).startswith("killchain.yaml")


def test_kill_chain_error_names_the_line(catalog: AttackCatalog) -> None:
    text = KILLCHAIN_YAML.read_text(encoding="utf-8").replace(
        "  exfiltration: actions-on-objectives", "  exfil: x"
    )
    with pytest.raises(CatalogError) as info:
        kill_chain_from_text(text, catalog, "killchain.yaml")
    line = text.splitlines().index("  exfil: x") + 1
    assert info.value.location == f"killchain.yaml:{line}"


# --- technique aliases ----------------------------------------------------------------------------


def test_aliases_cover_enough_techniques_and_all_exist(
    catalog: AttackCatalog, aliases: TechniqueAliases
) -> None:
    raw = yaml.safe_load(ALIASES_YAML.read_text(encoding="utf-8"))
    assert len(raw["techniques"]) >= 60
    for tid, entry in raw["techniques"].items():
        technique = catalog.techniques.get(tid)
        assert technique is not None, f"{tid} is not a current ATT&CK technique"
        assert entry["name"] == technique.name
    assert {rule.technique for rule in aliases.phrases} == set(raw["techniques"])
    assert aliases.catalog_version == catalog.version


def test_aliases_name_index_skips_generic_ambiguous_and_short_names(aliases: TechniqueAliases) -> None:
    assert aliases.names[("windows", "service")] == "T1543.003"
    assert aliases.names[("os", "credential", "dumping")] == "T1003"
    assert ("valid", "accounts") not in aliases.names  # listed as generic
    assert ("spearphishing", "attachment") not in aliases.names  # T1566.001 and T1598.002
    assert ("phishing",) not in aliases.names  # one word
    assert aliases.name_shadows["T1550.002"] == ("pass-the-hash toolkit",)


def test_phrases_inside_longer_software_names_are_shadowed(aliases: TechniqueAliases) -> None:
    powershell = next(rule for rule in aliases.phrases if rule.technique == "T1059.001")
    assert "powershell empire" in powershell.shadows


def _aliases_text(extra_technique: str) -> str:
    """Packaged settings (confidence, context, generic names) with one technique plus `extra_technique`."""
    head = ALIASES_YAML.read_text(encoding="utf-8").split("\ntechniques:\n")[0]
    powershell = "  T1059.001:\n    name: PowerShell\n    phrases: ['\\bpowershell\\b']\n"
    return f"{head}\ntechniques:\n{extra_technique}{powershell}"


def test_minimal_aliases_text_loads(catalog: AttackCatalog) -> None:
    loaded = aliases_from_text(_aliases_text(""), catalog, "aliases.yaml")
    assert [rule.technique for rule in loaded.phrases] == ["T1059.001"]


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (
            "  T9999:\n    name: Nothing\n    phrases: ['\\bnothing\\b']\n",
            "unknown ATT&CK technique ID 'T9999'",
        ),
        (
            "  T1086:\n    name: PowerShell\n    phrases: ['\\bps\\b']\n",
            "unknown ATT&CK technique ID 'T1086'",
        ),
        ("  T1001:\n    name: PowerShell\n    phrases: ['\\bx\\b']\n", "is not 'Data Obfuscation'"),
        ("  T1001:\n    name: Data Obfuscation\n    phrases: ['(broken']\n", "bad regex"),
        ("  T1001:\n    name: Data Obfuscation\n    phrases: []\n", "non-empty list"),
        (
            "  T1001:\n    name: Data Obfuscation\n    phrases: ['\\bemotet\\b']\n",
            "bare malware name 'emotet'",
        ),
        ("  T1001:\n    name: Data Obfuscation\n    phrases: ['\\bfancy bear\\b']\n", "bare group name"),
        ("  T1059.001:\n    name: PowerShell\n    phrases: ['x']\n", "duplicate key 'T1059.001'"),
    ],
)
def test_bad_aliases_are_rejected(catalog: AttackCatalog, entry: str, message: str) -> None:
    text = _aliases_text(entry)
    with pytest.raises(CatalogError, match=message) as info:
        aliases_from_text(text, catalog, "aliases.yaml")
    assert str(info.value.location).startswith("aliases.yaml:")


def test_unknown_technique_error_points_at_its_line(catalog: AttackCatalog) -> None:
    text = _aliases_text("  T9999:\n    name: Nothing\n    phrases: ['x']\n")
    with pytest.raises(CatalogError) as info:
        aliases_from_text(text, catalog, "aliases.yaml")
    assert info.value.location == f"aliases.yaml:{text.splitlines().index('  T9999:') + 1}"


def test_bad_generic_name_and_confidence_are_rejected(catalog: AttackCatalog) -> None:
    text = ALIASES_YAML.read_text(encoding="utf-8")
    with pytest.raises(CatalogError, match="no ATT&CK technique name"):
        aliases_from_text(text.replace("  - Valid Accounts\n", "  - Valid Acounts\n"), catalog, "a.yaml")
    with pytest.raises(CatalogError, match=r"confidence.phrase must be a number in \[0, 1\]"):
        aliases_from_text(text.replace("  phrase: 0.6 ", "  phrase: 6 "), catalog, "a.yaml")


@pytest.mark.parametrize(
    ("pattern", "anchors"),
    [
        (r"\bpowershell(?:\.exe)?\b", {"powershell"}),
        (r"\b[wc]script(?:\.exe)?\b", {"script"}),
        (r"\b(?:collect|gather)(?:s|ed)? (?:\w+ ){0,5}system info\b", {"system info"}),
        (r"\b(?:collect|gather)(?:s|ed)? (?:\w+ ){0,5}os\b", {"collect", "gather"}),
        (r"\bsc(?:\.exe)? create\b", {" create"}),  # the space is a literal too
        (r"\bdgas?\b|\bdomain generation\b", set()),  # one alternative shares a prefix: unknown, always tried
        (r"\b(?:rdp|ssh)\b", {"rdp", "ssh"}),
        (r"\bx\b", set()),
    ],
)
def test_required_literals(pattern: str, anchors: set[str]) -> None:
    assert required_literals(pattern) == anchors


def test_anchor_prefilter_never_hides_a_match(aliases: TechniqueAliases) -> None:
    """Every rule's anchors must occur in any text the rule matches (checked on the rule's own phrases)."""
    samples = {
        "T1543.003": "sc.exe create WinUpdateSvc binPath= x",
        "T1059.001": "powershell.exe -nop -w hidden",
        "T1547.001": r"HKCU\Software\Microsoft\Windows\CurrentVersion\Run",
        "T1486": "the ransomware encrypted files on every host",
        "T1053.005": "schtasks /create /tn updater",
        "T1071.001": "beacons over HTTPS to the C2",
    }
    for rule in aliases.phrases:
        if rule.technique in samples:
            sample = samples[rule.technique]
            assert rule.pattern.search(sample), rule.technique
            assert rule.may_match(sample.lower()), rule.technique
