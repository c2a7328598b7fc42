"""score(): threat-report gate, weighted signals, plain reasons; load_severity(): validation, overrides."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from huntbrief.catalog.kev import KevCatalog, KevEntry
from huntbrief.catalog.relevance import Relevance
from huntbrief.catalog.severity import DEFAULT_PATH, OVERRIDES_LOCATION, load_severity
from huntbrief.errors import CatalogError
from huntbrief.model import (
    Article,
    Confidence,
    Indicator,
    IndicatorKind,
    IocFindings,
    Severity,
    SeverityLevel,
    TechniqueHit,
)
from huntbrief.stages.severity import EXPLOITED, NOT_A_REPORT, names_in, score, threat_report_gate

MODEL = load_severity()
HIGH = Confidence.HIGH
NO_IOCS = IocFindings()

PARTNERSHIP = Article(
    url="https://snyk.example/blog/trend-micro-cloud-one",
    title="Trend Micro launches Cloud One Open Source Security powered by Snyk",
    source="Snyk",
    text=(
        "Last year we announced our plan to expand our partnership with Trend Micro so that security "
        "operations teams can track vulnerabilities and license risks in the open source components they "
        "ship. The long-standing partnership already includes container image security scanning that "
        "draws on our vulnerability database.\n"
        "With the new co-developed solution, Trend Micro Cloud One Open Source Security powered by Snyk, "
        "security teams get visibility into open source risk right inside the Trend Micro platform they "
        "already use. Customers can request a demo today, and the integration with Cloud One is generally "
        "available in all regions. Learn more in the joint webinar next week."
    ),
)

RANSOMWARE = Article(
    url="https://vendor.example/research/cl0p-moveit",
    title="Cl0p ransomware gang exploits MOVEit Transfer flaw CVE-2023-34362 to steal data",
    source="Vendor research",
    text=(
        "Since 27 May the Cl0p ransomware gang has actively exploited CVE-2023-34362, a SQL injection "
        "vulnerability in Progress MOVEit Transfer. We observed the threat actor dropping the LEMURLOOT web "
        "shell as human2.aspx, enumerating the database and exfiltrating files from dozens of victims. "
        "The operators then emailed extortion demands and listed victims on their leak site. "
        "Indicators of compromise (SHA256 hashes, C2 addresses) are listed at the end of this report."
    ),
)
RANSOMWARE_IOCS = IocFindings(
    tuple(
        Indicator(kind, value, value, confidence)
        for kind, value, confidence in [
            (IndicatorKind.CVE, "CVE-2023-34362", Confidence.HIGH),
            (IndicatorKind.SHA256, "0b3220b11698b1436d1d866ac07cc90018e59884e91a8cb71ef8924309f1e0e9", HIGH),
            (IndicatorKind.SHA256, "110e301d3b5019177728010b2b7f34ee2ef5dd8f8ff6f0d4f6137d4a59b5d5d1", HIGH),
            (IndicatorKind.IPV4, "198.51.100.23", Confidence.HIGH),
            (IndicatorKind.IPV4, "203.0.113.44", Confidence.HIGH),
            (IndicatorKind.DOMAIN, "moveit-update.example", Confidence.MEDIUM),
        ]
    )
)  # fmt: skip
RANSOMWARE_TECHNIQUES = (
    TechniqueHit("T1190", "Exploit Public-Facing Application", ("initial-access",), 0.9),
    TechniqueHit("T1505.003", "Web Shell", ("persistence",), 0.85),
    TechniqueHit("T1567", "Exfiltration Over Web Service", ("exfiltration",), 0.7),
)

ADVISORY = Article(
    url="https://acme.example/security/ASA-2024-07",
    title="Security update fixes two critical flaws in Acme Gateway (CVE-2024-11111, CVE-2024-11112)",
    source="Acme PSIRT",
    text=(
        "Acme has released Acme Gateway 5.2.1 to address two vulnerabilities. CVE-2024-11111 lets an "
        "unauthenticated remote attacker execute arbitrary code on the appliance through a crafted HTTP "
        "request. CVE-2024-11112 is an authentication bypass in the management interface.\n"
        "Acme is not aware of any exploitation in the wild at this time. Administrators should upgrade "
        "to version 5.2.1 or later; there is no workaround."
    ),
)

OPINION = Article(
    url="https://blog.example/opinion/stop-chasing-headlines",
    title="Opinion: why security teams should stop chasing every headline",
    source="Example blog",
    text=(
        "In my opinion the security community spends too much energy on the headline of the day. Every "
        "week brings a new ransomware story or a zero-day with a logo, and every week teams drop what they "
        "are doing. I believe the better perspective is a boring one: best practices, patching and asset "
        "inventory. There is no silver bullet, and lessons learned from past incidents matter more than "
        "the next frightening name. Working together as a community, sharing what works, is how we improve."
    ),
)


def _reasons_are_plain(severity: Severity) -> None:
    assert 2 <= len(severity.reasons) <= 5, severity.reasons
    for reason in severity.reasons:
        assert reason.endswith(".") and len(reason) < 200
        assert not re.search(r"\brules?\b|\bfired\b|use case", reason, re.IGNORECASE), reason


def test_partnership_announcement_is_info_even_with_a_technique_hit() -> None:
    technique = TechniqueHit("T1543.003", "Windows Service", ("persistence",), 0.55)
    for techniques in ((), (technique,)):
        severity = score(PARTNERSHIP, NO_IOCS, techniques, MODEL, source_category="vendor-research")
        assert (severity.level, severity.score) == (SeverityLevel.INFO, 0)
        assert severity.reasons[0] == "Product/partnership announcement: no adversary activity described."
        _reasons_are_plain(severity)
    assert "T1543.003" in severity.reasons[1]


def test_gate_opens_when_the_article_carries_indicators() -> None:
    iocs = IocFindings((Indicator(IndicatorKind.IPV4, "203.0.113.9", "203.0.113[.]9", Confidence.HIGH),))
    severity = score(PARTNERSHIP, iocs, (), MODEL)
    assert "announcement" not in severity.reasons[0]
    _reasons_are_plain(severity)


def test_ransomware_exploiting_a_kev_cve_with_iocs_is_high_or_critical() -> None:
    severity = score(
        RANSOMWARE, RANSOMWARE_IOCS, RANSOMWARE_TECHNIQUES, MODEL, kev={"CVE-2023-34362"},
        source_category="vendor-research",
    )  # fmt: skip
    assert severity.level in (SeverityLevel.HIGH, SeverityLevel.CRITICAL)
    assert EXPLOITED in severity.reasons
    assert "1 CVE, 1 in CISA KEV (CVE-2023-34362)." in severity.reasons
    _reasons_are_plain(severity)


def test_kev_membership_raises_the_score_and_is_named() -> None:
    without = score(ADVISORY, NO_IOCS, (), MODEL)
    with_kev = score(ADVISORY, NO_IOCS, (), MODEL, kev=frozenset({"cve-2024-11112", "CVE-2020-0001"}))
    assert with_kev.score == without.score + MODEL.weights["kev"]
    assert "2 CVEs, 1 in CISA KEV (CVE-2024-11112)." in with_kev.reasons
    none = score(ADVISORY, NO_IOCS, (), MODEL, kev=frozenset({"CVE-2020-0001"}))
    assert "2 CVEs (CVE-2024-11111, CVE-2024-11112), none in CISA KEV." in none.reasons


def test_vulnerability_advisory_without_exploitation_is_medium() -> None:
    for category in ("news", "vulnerability"):
        severity = score(ADVISORY, NO_IOCS, (), MODEL, source_category=category)
        assert severity.level is SeverityLevel.MEDIUM, (category, severity)
        assert EXPLOITED not in severity.reasons
        assert "2 CVEs mentioned: CVE-2024-11111, CVE-2024-11112." in severity.reasons
        _reasons_are_plain(severity)


def test_opinion_piece_is_low_or_info() -> None:
    severity = score(OPINION, NO_IOCS, (), MODEL)
    assert severity.level in (SeverityLevel.LOW, SeverityLevel.INFO)
    _reasons_are_plain(severity)


@pytest.mark.parametrize(
    ("sentence", "exploited"),
    [
        ("Attackers exploited in the wild the flaw tracked as CVE-2024-1234.", True),
        ("CVE-2024-1234 has been actively exploited since March.", True),
        ("There is no evidence that CVE-2024-1234 has been exploited in the wild.", False),
        ("CVE-2024-1234 is not known to be actively exploited.", False),
        ("The vendor said CVE-2024-1234 is unlikely to be exploited in the wild soon.", False),
    ],
)
def test_exploitation_phrases_respect_negation(sentence: str, exploited: bool) -> None:
    article = Article(
        url=None, title="Vulnerability CVE-2024-1234 in WidgetServer", source="s", text=sentence
    )
    assert (EXPLOITED in score(article, NO_IOCS, (), MODEL).reasons) is exploited


def test_source_weight_and_category_change_the_score() -> None:
    base = score(ADVISORY, NO_IOCS, (), MODEL)
    assert score(ADVISORY, NO_IOCS, (), MODEL, source_weight=0.5).score == round(base.score * 0.5)
    government = score(ADVISORY, NO_IOCS, (), MODEL, source_category="government")
    assert government.score == base.score + MODEL.categories["government"]
    assert score(ADVISORY, NO_IOCS, (), MODEL, source_category="unheard-of").score == base.score


def test_reasons_name_techniques_tactics_and_indicators() -> None:
    text_signals = "ransomware exploited_in_the_wild severe_impact cve_first cve_each_more tradecraft_each"
    silent = dict.fromkeys([*text_signals.split(), "named_malware", "named_actor", "data_theft"], 0.0)
    model = replace(MODEL, weights={**MODEL.weights, **silent})
    severity = score(RANSOMWARE, RANSOMWARE_IOCS, RANSOMWARE_TECHNIQUES, model)
    assert "5 indicators of compromise (sha256, ipv4, domain), 4 high-confidence." in severity.reasons
    assert "3 ATT&CK techniques inferred: T1190, T1505.003, T1567." in severity.reasons
    assert any(r.startswith("Activity spans 3 ATT&CK tactics: initial-access") for r in severity.reasons)


def test_level_thresholds() -> None:
    assert [MODEL.level_for(s) for s in (100, 85, 84.9, 65, 40, 39, 20, 19.9, 0)] == [
        SeverityLevel.CRITICAL, SeverityLevel.CRITICAL, SeverityLevel.HIGH, SeverityLevel.HIGH,
        SeverityLevel.MEDIUM, SeverityLevel.LOW, SeverityLevel.LOW, SeverityLevel.INFO, SeverityLevel.INFO,
    ]  # fmt: skip


def test_names_are_found_and_non_names_dropped() -> None:
    text = "The Zebrocy malware and Zebrocy loaders were used by APT28. The malware, Another malware story."
    assert names_in(MODEL.actor_patterns, text, MODEL.not_names, 2) == ["APT28"]
    assert names_in(MODEL.malware_patterns, text, MODEL.not_names, 2) == ["Zebrocy"]


def test_packaged_model_has_the_documented_cues_and_categories() -> None:
    kinds = {kind.name for kind in MODEL.gate.kinds}
    assert {
        "partnership",
        "product",
        "marketing",
        "award",
        "survey",
        "prediction",
        "how_to",
        "opinion",
    } <= kinds
    assert {"government", "vendor-research", "vulnerability", "news"} <= set(MODEL.categories)
    thresholds = [floor for _, floor in MODEL.levels]
    assert thresholds == sorted(thresholds, reverse=True) and len(set(thresholds)) == 4


# --- loading and overrides ------------------------------------------------------------------------


def test_overrides_replace_values() -> None:
    model = load_severity(
        overrides={"levels": {"HIGH": 70}, "weights": {"kev": 25}, "categories": {"cert": 8}}
    )
    assert dict(model.levels)[SeverityLevel.HIGH] == 70 and model.weights["kev"] == 25
    assert model.categories["cert"] == 8 and model.categories["government"] == MODEL.categories["government"]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"levels": {"HIGH": 90}}, "levels: thresholds must be strictly descending"),
        ({"levels": {"URGENT": 99}}, "levels: missing [], unknown ['URGENT']"),
        ({"weights": {"kev": "lots"}}, "weights.kev: must be a number"),
        ({"weights": {"kve": 5}}, "unknown ['kve']"),
        ({"colour": "red"}, "colour: unknown section"),
        ({"names": {"actor_patterns": ["(unclosed"]}}, "names.actor_patterns[0]: invalid regular expression"),
        ({"gate": {"kinds": {"product": {"reason": "", "cues": ["x"]}}}}, "gate.kinds.product.reason"),
    ],
)
def test_bad_overrides_are_located_in_the_settings_file(overrides: dict[str, object], message: str) -> None:
    with pytest.raises(CatalogError) as caught:
        load_severity(overrides=overrides)
    assert caught.value.location == OVERRIDES_LOCATION
    assert message in caught.value.message


def test_bad_file_is_located_in_that_file(tmp_path: Path) -> None:
    path = tmp_path / "severity.yaml"
    path.write_text(
        DEFAULT_PATH.read_text(encoding="utf-8").replace("HIGH: 65", "HIGH: 95"), encoding="utf-8"
    )
    with pytest.raises(CatalogError, match="strictly descending") as caught:
        load_severity(path)
    assert caught.value.location == str(path)


# --- KEV, the CRITICAL rule, recency and the relevance gate -----------------------------------------


def _kev(*entries: tuple[str, bool]) -> KevCatalog:
    listed = {cve: KevEntry(cve, "Vendor", "Product", date(2023, 6, 2), ransom) for cve, ransom in entries}
    return KevCatalog("2025.08.25", datetime(2025, 8, 25, tzinfo=UTC), listed)


def test_kev_ransomware_use_is_named_from_the_catalog() -> None:
    kev = _kev(("CVE-2023-34362", True))
    severity = score(RANSOMWARE, RANSOMWARE_IOCS, RANSOMWARE_TECHNIQUES, MODEL, kev=kev)
    assert "1 CVE, 1 in CISA KEV (CVE-2023-34362)." in severity.reasons
    assert severity.level is SeverityLevel.CRITICAL
    plain = score(ADVISORY, NO_IOCS, (), MODEL, kev=_kev(("CVE-2024-11111", False)))
    assert not any("ransomware campaigns" in r for r in plain.reasons)
    ransom = score(ADVISORY, NO_IOCS, (), MODEL, kev=_kev(("CVE-2024-11111", True)))
    assert "CISA KEV lists CVE-2024-11111 as used in ransomware campaigns." in ransom.reasons
    assert ransom.score == plain.score + MODEL.weights["kev_ransomware"]


def test_critical_needs_exploitation_a_zero_day_or_kev() -> None:
    quiet = RANSOMWARE.text.replace("actively exploited", "used").replace("CVE-2023-34362, ", "")
    article = replace(RANSOMWARE, title="Cl0p ransomware gang steals data", text=quiet)
    iocs = IocFindings(RANSOMWARE_IOCS.indicators[1:])
    severity = score(article, iocs, RANSOMWARE_TECHNIQUES, MODEL, source_category="government")
    assert severity.level is SeverityLevel.HIGH
    assert severity.score == 84
    assert (
        severity.reasons[-1]
        == "Kept below CRITICAL: no exploitation in the wild, zero-day or CISA KEV CVE reported."
    )
    _reasons_are_plain(severity)


@pytest.mark.parametrize(
    ("days", "delta", "reason"),
    [
        (2, 5, "Published 2 days ago."),
        (100, 0, None),
        (400, -15, "Published 400 days ago: old activity ranks lower."),
    ],
)
def test_recency_needs_both_dates(days: int, delta: int, reason: str | None) -> None:
    published = datetime(2024, 1, 1, tzinfo=UTC)
    article = replace(ADVISORY, published=published)
    base = score(article, NO_IOCS, (), MODEL)
    dated = score(article, NO_IOCS, (), MODEL, now=published + timedelta(days=days))
    assert dated.score == base.score + delta
    assert (reason in dated.reasons) if reason else dated.reasons == base.reasons
    naive = score(replace(article, published=published.replace(tzinfo=None)), NO_IOCS, (), MODEL,
                  now=published + timedelta(days=days))  # fmt: skip
    assert naive.score == dated.score


def test_the_relevance_model_closes_and_opens_the_gate() -> None:
    low, high = Relevance(0.02, 1, 50), Relevance(0.6, 30, 50)
    closed = threat_report_gate(OPINION, NO_IOCS, (), MODEL, low)
    assert closed is not None and closed.level is SeverityLevel.INFO
    assert closed.reasons == (
        "Opinion or commentary: no specific adversary activity described.",
        "1 of 50 sentences describes adversary activity.",
        "No indicators of compromise or ATT&CK techniques found.",
    )
    assert (
        threat_report_gate(PARTNERSHIP, NO_IOCS, (), MODEL, high) is None
    )  # cue words alone cannot close it
    plain = Article(url=None, title="Quarterly notes", source="s", text="Nothing here at all. " * 5)
    generic = threat_report_gate(plain, NO_IOCS, (), MODEL, Relevance(0.0, 0, 5))
    assert generic is not None and generic.reasons[0] == NOT_A_REPORT
    iocs = IocFindings((Indicator(IndicatorKind.IPV4, "203.0.113.9", "203.0.113[.]9", Confidence.HIGH),))
    assert threat_report_gate(OPINION, iocs, (), MODEL, low) is None  # indicators keep it a threat report


def test_packaged_relevance_model_reads_the_test_articles() -> None:
    from huntbrief.catalog.relevance import load_relevance
    from huntbrief.stages.relevance import article_relevance

    model = load_relevance()
    assert article_relevance(RANSOMWARE, model).share >= MODEL.gate.relevance_high
    assert article_relevance(PARTNERSHIP, model).share < MODEL.gate.relevance_low
    assert article_relevance(OPINION, model).share < MODEL.gate.relevance_high


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"gate": {"relevance_low": 0.5, "relevance_high": 0.2}}, "relevance_low (0.5) must not exceed"),
        ({"gate": {"relevance_high": 2}}, "gate.relevance_high: must be a number from 0 to 1"),
        ({"critical": {"requires_any": ["rumours"]}}, "critical.requires_any: must be a non-empty list"),
        ({"recency": {"stale_days": 7}}, "stale_days (7) must be greater than recent_days (14)"),
        ({"weights": {"stale": -3}}, "weights.stale: must be a number from 0"),
    ],
)
def test_new_settings_are_validated(overrides: dict[str, object], message: str) -> None:
    with pytest.raises(CatalogError, match=re.escape(message)):
        load_severity(overrides=overrides)


def test_bad_severity_table_in_settings_is_a_config_error() -> None:
    from huntbrief.context import load_context
    from huntbrief.errors import ConfigError

    with pytest.raises(ConfigError) as caught:
        load_context(severity_overrides={"levels": {"HIGH": "high"}}, location="/etc/huntbrief.toml")
    assert str(caught.value).startswith("/etc/huntbrief.toml: [severity]: levels.HIGH: must be a number")
    tuned = load_context(severity_overrides={"critical": {"requires_any": ["kev"]}})
    assert tuned.severity.critical_requires == frozenset({"kev"})
