"""infer_techniques and kill_chain_phases: the rule layer's contract, context rules and a corpus check."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

import pytest

from huntbrief.catalog.attack import AttackCatalog, load_attack_catalog
from huntbrief.catalog.killchain import KillChainMapping, load_kill_chain
from huntbrief.catalog.technique_aliases import TechniqueAliases, load_technique_aliases
from huntbrief.catalog.technique_model import TechniqueModel, load_technique_model
from huntbrief.model import Article, TechniqueHit
from huntbrief.stages.attack import MODEL, infer_techniques, kill_chain_phases

PARTNERSHIP = """\
Trend Micro launches Cloud One Open Source Security powered by Snyk

Today we are excited to expand our partnership with Snyk to bring developers and security teams one view of
open source risk. The new offering adds container image security scanning, software composition analysis and
license compliance to the Cloud One platform. Customers can detect vulnerable dependencies before they reach
production and protect against supply chain attacks, ransomware and phishing. Cloud One Open Source Security
is available today in the AWS Marketplace, and our customers benefit from a single console. Request a demo or
learn more at our booth.
"""
SC_SENTENCE = (
    "The actor ran `sc.exe create WinUpdateSvc binPath= C:\\Users\\Public\\svc.exe start= auto` "
    "to install a new service for persistence."
)


@pytest.fixture(scope="module")
def catalog() -> AttackCatalog:
    return load_attack_catalog()


@pytest.fixture(scope="module")
def aliases(catalog: AttackCatalog) -> TechniqueAliases:
    return load_technique_aliases(catalog)


@pytest.fixture(scope="module")
def model(catalog: AttackCatalog) -> TechniqueModel:
    return load_technique_model(catalog)


@pytest.fixture(scope="module")
def mapping(catalog: AttackCatalog) -> KillChainMapping:
    return load_kill_chain(catalog)


def _article(text: str, title: str = "") -> Article:
    return Article(url="https://example.test/post", title=title, source="test", text=text)


def _infer(
    catalog: AttackCatalog, aliases: TechniqueAliases, text: str, title: str = ""
) -> dict[str, TechniqueHit]:
    return {hit.id: hit for hit in infer_techniques(_article(text, title), catalog, aliases)}


# --- what counts as evidence ----------------------------------------------------------------------


def test_partnership_announcement_yields_no_technique(
    catalog: AttackCatalog, aliases: TechniqueAliases, mapping: KillChainMapping
) -> None:
    title, _, body = PARTNERSHIP.partition("\n\n")
    hits = infer_techniques(_article(body, title), catalog, aliases)
    assert hits == ()
    assert kill_chain_phases(hits, _article(body, title), mapping) == ()


def test_service_creation_command_yields_windows_service_with_its_sentence(
    catalog: AttackCatalog, aliases: TechniqueAliases
) -> None:
    text = f"The intrusion began with a phishing e-mail. {SC_SENTENCE} Nothing else was observed."
    hits = _infer(catalog, aliases, text)
    service = hits["T1543.003"]
    assert service.name == "Windows Service"
    assert service.evidence == (SC_SENTENCE,)
    assert service.tactics == ("persistence", "privilege-escalation")
    assert 0.5 <= service.confidence < 0.95


def test_explicit_subtechnique_id(catalog: AttackCatalog, aliases: TechniqueAliases) -> None:
    hits = _infer(catalog, aliases, "The operators used T1059.001 to stage the next payload.")
    assert hits["T1059.001"].confidence == pytest.approx(0.95)
    assert hits["T1059.001"].evidence == ("The operators used T1059.001 to stage the next payload.",)
    assert "T1059" not in hits


@pytest.mark.parametrize(
    "text",
    [
        "Technique: T1086 (PowerShell) was observed.",
        "See https://attack.mitre.org/techniques/T1059/001/ for the behaviour seen here.",
        "Execution | Command and Scripting InterpreterT1059.001 | the loader ran a script",
    ],
)
def test_revoked_and_url_forms_map_to_the_current_id(
    catalog: AttackCatalog, aliases: TechniqueAliases, text: str
) -> None:
    hits = _infer(catalog, aliases, text)
    assert hits["T1059.001"].confidence == pytest.approx(0.95)
    assert "T1086" not in hits


def test_parent_id_stays_parent_and_tactic_ids_are_not_techniques(
    catalog: AttackCatalog, aliases: TechniqueAliases
) -> None:
    hits = _infer(catalog, aliases, "The actors relied on T1059 throughout (tactic TA0002).")
    assert set(hits) == {"T1059"}
    assert catalog.techniques["T1059"].is_subtechnique is False


def test_subtechnique_only_with_specific_evidence(catalog: AttackCatalog, aliases: TechniqueAliases) -> None:
    generic = _infer(catalog, aliases, "The malware relied on a command-line interpreter to run its payload.")
    assert "T1059" in generic and not any(tid.startswith("T1059.") for tid in generic)
    specific = _infer(
        catalog, aliases, "The malware relied on a command-line interpreter. It then ran powershell.exe -nop."
    )
    assert "T1059.001" in specific and "T1059" not in specific  # the implied parent is dropped
    explicit = _infer(catalog, aliases, "The malware used T1059. It then ran powershell.exe -nop.")
    assert {"T1059", "T1059.001"} <= set(explicit)  # an explicitly written parent is kept


@pytest.mark.parametrize(
    "text",
    [
        "The actor did not use PowerShell in this intrusion.",
        "We found no evidence of PowerShell activity on the host.",
        "PowerShell could be used to download further payloads.",
        "If an attacker gains access, PowerShell may be abused.",
        "Customers can protect against PowerShell abuse with script block logging.",
        "PowerShell was not observed in this campaign.",
        "Monitor PowerShell command lines for encoded commands.",
    ],
)
def test_negated_or_hypothetical_clauses_do_not_count(
    catalog: AttackCatalog, aliases: TechniqueAliases, text: str
) -> None:
    assert "T1059.001" not in _infer(catalog, aliases, text)


def test_negation_is_per_clause(catalog: AttackCatalog, aliases: TechniqueAliases) -> None:
    hits = _infer(
        catalog, aliases, "The actor did not use PowerShell; instead it ran cmd.exe /c whoami on the host."
    )
    assert "T1059.001" not in hits
    assert {"T1059.003", "T1033"} <= set(hits)


def test_marketing_sentence_does_not_count_but_adversary_sentence_does(
    catalog: AttackCatalog, aliases: TechniqueAliases
) -> None:
    assert (
        _infer(catalog, aliases, "Our platform now inspects every scheduled task and PowerShell script.")
        == {}
    )
    hits = _infer(
        catalog, aliases, "Our researchers saw the malware create a scheduled task for persistence."
    )
    assert "T1053.005" in hits


def test_names_of_actors_and_malware_are_not_evidence(
    catalog: AttackCatalog, aliases: TechniqueAliases
) -> None:
    assert _infer(catalog, aliases, "APT28, Emotet and Cobalt Strike were all mentioned in the report.") == {}
    assert "T1059.001" not in _infer(catalog, aliases, "The operators deployed PowerShell Empire.")
    assert "T1059.001" in _infer(
        catalog, aliases, "PowerShell Empire then launched powershell.exe with -enc."
    )


def test_exact_technique_names_count_unless_generic(
    catalog: AttackCatalog, aliases: TechniqueAliases
) -> None:
    hits = _infer(catalog, aliases, "The loader relies on Process Hollowing and OS Credential Dumping.")
    assert {"T1055.012", "T1003"} <= set(hits)
    assert _infer(catalog, aliases, "Open the Email Account settings page to change it.") == {}


def test_confidence_grows_with_supporting_sentences_and_evidence_is_capped(
    catalog: AttackCatalog, aliases: TechniqueAliases
) -> None:
    one = _infer(catalog, aliases, "The malware creates a scheduled task.")["T1053.005"]
    sentences = [f"The malware creates scheduled task number {n} with schtasks /create." for n in range(5)]
    many = _infer(catalog, aliases, " ".join(sentences))["T1053.005"]
    assert many.confidence > one.confidence
    assert many.confidence <= aliases.confidence.max_inferred
    assert many.evidence == tuple(sentences[:3])


def test_evidence_is_strongest_first(catalog: AttackCatalog, aliases: TechniqueAliases) -> None:
    text = "The malware creates a scheduled task. Later, the operators used T1053.005 again."
    hit = _infer(catalog, aliases, text)["T1053.005"]
    assert hit.evidence == (
        "Later, the operators used T1053.005 again.",
        "The malware creates a scheduled task.",
    )
    assert hit.confidence == pytest.approx(0.95)


def test_output_is_sorted_by_confidence_then_id(catalog: AttackCatalog, aliases: TechniqueAliases) -> None:
    text = (
        "The actors used T1566.001 to get in. The dropper ran rundll32.exe and then schtasks /create. "
        "Later it ran rundll32.exe again."
    )
    hits = infer_techniques(_article(text), catalog, aliases)
    keys = [(-hit.confidence, hit.id) for hit in hits]
    assert keys == sorted(keys)
    assert hits[0].id == "T1566.001"
    assert all(0.0 <= hit.confidence <= 1.0 for hit in hits)


def test_title_counts_and_empty_article_yields_nothing(
    catalog: AttackCatalog, aliases: TechniqueAliases
) -> None:
    assert "T1486" in _infer(catalog, aliases, "", title="Ransomware encrypts files on 300 hosts")
    assert infer_techniques(_article(""), catalog, aliases) == ()


def test_long_evidence_is_clipped(catalog: AttackCatalog, aliases: TechniqueAliases) -> None:
    text = "The malware ran rundll32.exe " + "with a very long argument list " * 40 + "today."
    hit = _infer(catalog, aliases, text)["T1218.011"]
    assert len(hit.evidence[0]) <= 400 and hit.evidence[0].endswith("…")


def test_inference_does_not_mutate_or_depend_on_call_order(
    catalog: AttackCatalog, aliases: TechniqueAliases
) -> None:
    article = _article(f"{SC_SENTENCE} The actors used T1059.001.")
    first = infer_techniques(article, catalog, aliases)
    infer_techniques(_article(PARTNERSHIP), catalog, aliases)
    assert infer_techniques(article, catalog, aliases) == first


# --- with the learned layer (the packaged model) ------------------------------------------------


def _learned(
    catalog: AttackCatalog, aliases: TechniqueAliases, model: TechniqueModel, text: str, **kw: frozenset[str]
) -> dict[str, TechniqueHit]:
    return {hit.id: hit for hit in infer_techniques(_article(text), catalog, aliases, model, **kw)}


def test_partnership_text_tags_nothing_even_by_the_model_alone(
    catalog: AttackCatalog, aliases: TechniqueAliases, model: TechniqueModel
) -> None:
    title, _, body = PARTNERSHIP.partition("\n\n")
    assert infer_techniques(_article(body, title), catalog, aliases, model) == ()
    only_model = frozenset({MODEL})
    assert infer_techniques(_article(body, title), catalog, aliases, model, layers=only_model) == ()


def test_model_finds_the_service_from_the_sc_exe_paragraph(
    catalog: AttackCatalog, aliases: TechniqueAliases, model: TechniqueModel
) -> None:
    text = (
        "The operators copied their loader to the public user profile. "
        f"{SC_SENTENCE} The service started the implant at every boot."
    )
    service = _learned(catalog, aliases, model, text)["T1543.003"]
    assert service.evidence[0] == SC_SENTENCE
    assert 0.5 <= service.confidence <= aliases.confidence.max_inferred
    learned_only = _learned(catalog, aliases, model, text, layers=frozenset({MODEL}))
    assert "T1543.003" in learned_only


def test_behaviour_sentence_beats_a_bare_mapping_row_as_evidence(
    catalog: AttackCatalog, aliases: TechniqueAliases, model: TechniqueModel
) -> None:
    behaviour = "The loader launched powershell.exe -nop -w hidden -enc to download the second stage."
    text = f"T1059.001 – PowerShell\n\n{behaviour}"
    hit = _learned(catalog, aliases, model, text)["T1059.001"]
    assert hit.evidence == (behaviour, "T1059.001 – PowerShell")
    assert hit.confidence == pytest.approx(aliases.confidence.explicit)


@pytest.mark.parametrize(
    "text",
    [
        "The actor did not use PowerShell to download the payload.",
        "The malware never creates a scheduled task for persistence.",
    ],
)
def test_model_respects_negation(
    catalog: AttackCatalog, aliases: TechniqueAliases, model: TechniqueModel, text: str
) -> None:
    hits = _learned(catalog, aliases, model, text)
    assert not {"T1059.001", "T1053.005", "T1053"} & set(hits)


def test_model_reports_a_parent_without_specific_evidence(
    catalog: AttackCatalog, aliases: TechniqueAliases, model: TechniqueModel
) -> None:
    sentence = "The backdoor establishes persistence by creating a new service."
    generic = _learned(catalog, aliases, model, sentence)
    assert "T1543" in generic or "T1543.003" in generic
    specific = _learned(
        catalog, aliases, model, "The backdoor created the scheduled task with schtasks /create /sc minute."
    )
    assert "T1053.005" in specific and "T1053" not in specific


def test_model_output_is_deterministic_and_bounded(
    catalog: AttackCatalog, aliases: TechniqueAliases, model: TechniqueModel
) -> None:
    article = _article(f"{SC_SENTENCE} The implant beacons to its C2 server over HTTPS every minute.")
    first = infer_techniques(article, catalog, aliases, model)
    assert first == infer_techniques(article, catalog, aliases, model)
    assert first and all(0.0 < hit.confidence <= 1.0 and hit.evidence for hit in first)


# --- kill chain -----------------------------------------------------------------------------------


def test_kill_chain_is_ordered_as_the_chain(
    catalog: AttackCatalog, aliases: TechniqueAliases, mapping: KillChainMapping
) -> None:
    text = (
        "The ransomware encrypted files on every host. The implant beacons to its C2 server over HTTPS. "
        "The actors used T1566.001 for initial access, then ran powershell.exe."
    )
    article = _article(text)
    hits = infer_techniques(article, catalog, aliases)
    assert kill_chain_phases(hits, article, mapping) == (
        "delivery",
        "exploitation",
        "command-and-control",
        "actions-on-objectives",
    )


def test_kill_chain_uses_narrative_cues_only_with_technique_evidence(
    catalog: AttackCatalog, aliases: TechniqueAliases, mapping: KillChainMapping
) -> None:
    article = _article(
        "The actor mailed a weaponized document. It ran powershell.exe to fetch the next stage."
    )
    hits = infer_techniques(article, catalog, aliases)
    phases = kill_chain_phases(hits, article, mapping)
    assert phases[:2] == ("weaponization", "delivery")
    assert "exploitation" in phases
    assert kill_chain_phases((), article, mapping) == ()


def test_kill_chain_from_hand_made_hits(mapping: KillChainMapping) -> None:
    hits = [
        TechniqueHit("T1041", "Exfiltration Over C2 Channel", ("exfiltration",), 0.6),
        TechniqueHit("T1595", "Active Scanning", ("reconnaissance",), 0.6),
        TechniqueHit("T1543.003", "Windows Service", ("persistence", "privilege-escalation"), 0.6),
    ]
    phases = kill_chain_phases(hits, _article("Nothing narrative here."), mapping)
    assert phases == ("reconnaissance", "installation", "actions-on-objectives")


# --- corpus check -----------------------------------------------------------------------------------


def _related(a: str, b: str) -> bool:
    """Equal, or one is the other's parent technique."""
    return a == b or a.split(".")[0] == b or b.split(".")[0] == a


def _counts(predicted: set[str], gold: set[str]) -> tuple[int, int, int]:
    true_positive = sum(1 for p in predicted if any(_related(p, g) for g in gold))
    covered = sum(1 for g in gold if any(_related(p, g) for p in predicted))
    return true_positive, len(predicted) - true_positive, len(gold) - covered


def _prf(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def _manifest(shared_data: Path) -> Iterable[dict[str, object]]:
    path = shared_data / "articles" / "manifest.jsonl"
    if not path.is_file():
        pytest.skip(f"article corpus not found at {path}")
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_corpus_precision_floor_and_quiet_non_threat_articles(
    shared_data: Path, catalog: AttackCatalog, aliases: TechniqueAliases
) -> None:
    totals = [0, 0, 0]
    per_kind: dict[bool, list[int]] = {True: [], False: []}
    quiet_failures = []
    for row in _manifest(shared_data):
        text = (shared_data / "articles" / str(row["file"])).read_text(encoding="utf-8")
        predicted = {hit.id for hit in infer_techniques(_article(text, str(row["title"])), catalog, aliases)}
        labels = row["labels"]
        assert isinstance(labels, dict)
        gold = {tid for raw in labels.get("attack_techniques", []) if (tid := catalog.resolve(raw))}
        for i, value in enumerate(_counts(predicted, gold)):
            totals[i] += value
        is_threat = row["kind"] == "threat_report"
        per_kind[is_threat].append(len(predicted))
        if not is_threat and not gold and len(predicted) > 3:
            quiet_failures.append((row["id"], sorted(predicted)))
    precision, recall, f1 = _prf(*totals)
    print(f"\nATT&CK rule layer, document-level micro (parent/child counts as a match): P={precision:.3f} "
          f"R={recall:.3f} F1={f1:.3f} (tp={totals[0]} fp={totals[1]} fn={totals[2]})")  # fmt: skip
    mean_threat = sum(per_kind[True]) / len(per_kind[True])
    mean_other = sum(per_kind[False]) / len(per_kind[False])
    print(f"mean techniques per article: threat reports {mean_threat:.1f}, other kinds {mean_other:.1f}")
    assert precision >= 0.5
    assert recall > 0.3  # a floor that catches a rule layer that silently stopped matching
    assert mean_other <= 2.0 and mean_other * 5 <= mean_threat
    assert not quiet_failures, f"non-threat articles with many techniques: {quiet_failures}"
