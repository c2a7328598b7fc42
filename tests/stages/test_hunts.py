"""plan_hunts: use cases from the inferred techniques (documented confidence policy), then IOC sweeps."""

from __future__ import annotations

import pytest

from huntbrief.catalog.sweeps import SweepQuery, load_sweeps
from huntbrief.catalog.usecases import load_usecases
from huntbrief.errors import ConfigError
from huntbrief.model import Confidence, Indicator, IndicatorKind, IocFindings, TechniqueHit
from huntbrief.stages.hunts import plan_hunts, quote_kql, quote_spl, render_sweep
from tests.test_catalog_usecases import check_kql, check_spl

LIBRARY = load_usecases()
SWEEPS = load_sweeps()
NO_IOCS = IocFindings()


def hit(tid: str, confidence: float = 0.9) -> TechniqueHit:
    return TechniqueHit(id=tid, name=tid, tactics=("persistence",), confidence=confidence)


def ioc(kind: IndicatorKind, value: str, confidence: Confidence = Confidence.HIGH) -> Indicator:
    return Indicator(kind=kind, value=value, defanged=value, confidence=confidence)


def test_service_persistence_yields_the_service_use_case() -> None:
    hunts = plan_hunts([hit("T1543.003")], NO_IOCS, LIBRARY, SWEEPS)
    assert [h.id for h in hunts] == ["UC_SERVICE_PERSIST"]
    hunt = hunts[0]
    assert (hunt.phase, hunt.confidence, hunt.kind) == ("installation", Confidence.HIGH, "usecase")
    assert hunt.techniques == ("T1543.003",)
    assert [(q.backend, q.language) for q in hunt.queries] == [("splunk", "spl"), ("kql", "kql")]
    assert "datamodel=Endpoint.Processes" in hunt.queries[0].text
    assert hunt.queries[1].text.startswith("DeviceProcessEvents")


def test_no_techniques_and_no_iocs_means_no_hunts() -> None:
    assert plan_hunts([], NO_IOCS, LIBRARY, SWEEPS) == ()


def test_weak_inference_lowers_confidence_one_step() -> None:
    (hunt,) = plan_hunts([hit("T1543.003", 0.59)], NO_IOCS, LIBRARY, SWEEPS)
    assert hunt.confidence is Confidence.MEDIUM
    (hunt,) = plan_hunts([hit("T1543.003", 0.6)], NO_IOCS, LIBRARY, SWEEPS)
    assert hunt.confidence is Confidence.HIGH


def test_parent_inference_offers_sub_technique_use_cases_one_step_lower() -> None:
    (hunt,) = plan_hunts([hit("T1543", 0.9)], NO_IOCS, LIBRARY, SWEEPS)
    assert (hunt.id, hunt.confidence) == ("UC_SERVICE_PERSIST", Confidence.MEDIUM)
    (hunt,) = plan_hunts([hit("T1543", 0.3)], NO_IOCS, LIBRARY, SWEEPS)
    assert hunt.confidence is Confidence.LOW  # both steps, never below Low


def test_sub_technique_inference_matches_use_cases_of_its_parent() -> None:
    hunts = plan_hunts([hit("T1567.002")], NO_IOCS, LIBRARY, SWEEPS)
    assert [h.id for h in hunts] == ["UC_EXFIL_CLOUD_STORAGE"]
    hunts = plan_hunts([hit("T1082.001")], NO_IOCS, LIBRARY, SWEEPS)  # hypothetical sub-technique
    assert [h.id for h in hunts] == ["UC_DISCOVERY_BURST"]


def test_best_matching_technique_decides_and_each_use_case_appears_once() -> None:
    hunts = plan_hunts([hit("T1082", 0.4), hit("T1016", 0.8), hit("T1087", 0.5)], NO_IOCS, LIBRARY, SWEEPS)
    assert [(h.id, h.confidence) for h in hunts] == [("UC_DISCOVERY_BURST", Confidence.MEDIUM)]


def test_ranking_by_hunt_confidence_then_use_case_then_technique_confidence() -> None:
    techniques = [
        hit("T1547.001", 0.95),  # Medium use case
        hit("T1003.001", 0.65),  # High use case
        hit("T1490", 0.9),  # High use case
        hit("T1218.005", 0.4),  # High use case, weak inference -> Medium
    ]
    hunts = plan_hunts(techniques, NO_IOCS, LIBRARY, SWEEPS)
    assert [(h.id, h.confidence) for h in hunts] == [
        ("UC_INHIBIT_RECOVERY", Confidence.HIGH),
        ("UC_LSASS_DUMP", Confidence.HIGH),
        ("UC_MSHTA_PROXY", Confidence.MEDIUM),
        ("UC_RUN_KEY_PERSIST", Confidence.MEDIUM),
    ]


def test_backends_select_queries_and_unknown_backend_is_named() -> None:
    (hunt,) = plan_hunts([hit("T1490")], NO_IOCS, LIBRARY, SWEEPS, backends=("kql",))
    assert [q.backend for q in hunt.queries] == ["kql"]
    with pytest.raises(
        ConfigError,
        match="unknown query backend.*nosuch.*valid: splunk, splunk_plain, kql, sentinel, elastic",
    ):
        plan_hunts([hit("T1490")], NO_IOCS, LIBRARY, SWEEPS, backends=("nosuch",))


def test_plan_is_deterministic() -> None:
    techniques = [hit(t, 0.7) for t in ("T1059.001", "T1105", "T1047", "T1021.002")]
    iocs = IocFindings((ioc(IndicatorKind.IPV4, "203.0.113.7"), ioc(IndicatorKind.DOMAIN, "evil.example")))
    assert plan_hunts(techniques, iocs, LIBRARY, SWEEPS) == plan_hunts(techniques, iocs, LIBRARY, SWEEPS)


# --- IOC sweeps ---------------------------------------------------------------------------------


def test_quoting_escapes_backslash_and_double_quote() -> None:
    value = 'C:\\Users\\x\\"evil".exe'
    assert quote_spl(value) == '"C:\\\\Users\\\\x\\\\\\"evil\\".exe"'
    assert quote_kql(value) == '"C:\\\\Users\\\\x\\\\\\"evil\\".exe"'


@pytest.mark.parametrize("backend", ["splunk", "kql"])
def test_sweep_values_are_escaped_in_the_rendered_query(backend: str) -> None:
    value = 'a"b\\c'
    (query,) = render_sweep(SweepQuery(backend, "x IN ({values})"), [value], 500)
    assert query.text == 'x IN ("a\\"b\\\\c")'


def test_sweeps_follow_use_cases_with_ids_phases_and_counts() -> None:
    iocs = IocFindings(
        (
            ioc(IndicatorKind.IPV4, "203.0.113.7"),
            ioc(IndicatorKind.IPV6, "2001:db8::1", Confidence.MEDIUM),
            ioc(IndicatorKind.SHA256, "a" * 64),
            ioc(IndicatorKind.MD5, "b" * 32, Confidence.MEDIUM),
            ioc(IndicatorKind.DOMAIN, "evil.example"),
            ioc(IndicatorKind.CVE, "CVE-2023-34362"),
        )
    )
    hunts = plan_hunts([hit("T1490")], iocs, LIBRARY, SWEEPS)
    assert [h.id for h in hunts] == [
        "UC_INHIBIT_RECOVERY",
        "SWEEP_IP",
        "SWEEP_DOMAIN",
        "SWEEP_SHA256",
        "SWEEP_MD5",
    ]
    by_id = {h.id: h for h in hunts}
    assert by_id["SWEEP_IP"].phase == "command-and-control" and by_id["SWEEP_IP"].kind == "sweep"
    assert by_id["SWEEP_IP"].title.startswith("Sweep network traffic for 2 reported")
    assert by_id["SWEEP_SHA256"].phase == "installation"
    assert by_id["SWEEP_MD5"].confidence is Confidence.MEDIUM
    assert by_id["SWEEP_IP"].confidence is Confidence.HIGH
    ip_kql = next(q.text for q in by_id["SWEEP_IP"].queries if q.language == "kql")
    assert 'let iocs = dynamic(["203.0.113.7", "2001:db8::1"]);' in ip_kql
    assert "RemoteIP in (iocs)" in ip_kql
    dns_spl = next(q.text for q in by_id["SWEEP_DOMAIN"].queries if q.language == "spl")
    assert 'DNS.query IN ("evil.example", "*.evil.example")' in dns_spl
    hash_spl = next(q.text for q in by_id["SWEEP_SHA256"].queries if q.language == "spl")
    assert f'Processes.process_hash IN ("*{"a" * 64}*")' in hash_spl


def test_every_rendered_sweep_is_well_formed() -> None:
    values = {
        IndicatorKind.IPV4: "198.51.100.9",
        IndicatorKind.IPV6: "2001:db8::2",
        IndicatorKind.DOMAIN: "bad.example",
        IndicatorKind.URL: 'http://bad.example/a?q="x"\\y',
        IndicatorKind.SHA256: "c" * 64,
        IndicatorKind.SHA1: "d" * 40,
        IndicatorKind.MD5: "e" * 32,
        IndicatorKind.EMAIL: "ceo@bad.example",
    }
    iocs = IocFindings(tuple(ioc(kind, value) for kind, value in values.items()))
    hunts = plan_hunts([], iocs, LIBRARY, SWEEPS)
    assert len(hunts) == len(SWEEPS.templates)
    for hunt in hunts:
        for query in hunt.queries:
            (check_spl if query.language == "spl" else check_kql)(query.text)
            assert "{values}" not in query.text and "{value}" not in query.text


def test_1200_values_are_chunked_into_3_queries_per_backend() -> None:
    iocs = IocFindings(tuple(ioc(IndicatorKind.IPV4, f"10.{i // 250}.{i % 250}.1") for i in range(1200)))
    (hunt,) = plan_hunts([], iocs, LIBRARY, SWEEPS)
    assert [q.backend for q in hunt.queries] == ["splunk"] * 3 + ["kql"] * 3
    kql = [q.text for q in hunt.queries if q.backend == "kql"]
    counts = [text.split("\n", 1)[0].count('"') // 2 for text in kql]
    assert counts == [500, 500, 200]
    assert '"10.0.0.1"' in kql[0] and '"10.4.199.1"' in kql[2] and '"10.4.199.1"' not in kql[1]
    assert "1200 reported" in hunt.title


def test_duplicate_and_unprintable_values_are_not_swept() -> None:
    iocs = IocFindings(
        (
            ioc(IndicatorKind.IPV4, "203.0.113.7"),
            ioc(IndicatorKind.IPV4, "203.0.113.7"),
            ioc(IndicatorKind.URL, "http://x.example/\nDeviceEvents"),
        )
    )
    hunts = plan_hunts([], iocs, LIBRARY, SWEEPS)
    assert [h.id for h in hunts] == ["SWEEP_IP"]
    assert all(q.text.count("203.0.113.7") in (1, 2) for q in hunts[0].queries)
    kql = next(q.text for q in hunts[0].queries if q.backend == "kql")
    assert kql.count("203.0.113.7") == 1
