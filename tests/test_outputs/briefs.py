"""Briefs for the output tests: one with every indicator kind and awkward characters, one empty."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from huntbrief.model import (
    Brief,
    Confidence,
    Hunt,
    Indicator,
    IndicatorKind,
    IocFindings,
    Query,
    Severity,
    SeverityLevel,
    TechniqueHit,
)

K = IndicatorKind
C2_SENTENCE = "The loader beacons to 185.220.101.47 and evil-cdn.example over HTTPS every 60 seconds."
RUN_SENTENCE = r"It persists under HKLM\Software\Microsoft\Windows\CurrentVersion\Run as 'Sync'."

VALUES: dict[IndicatorKind, str] = {
    K.IPV4: "185.220.101.47",
    K.IPV6: "2001:db8:dead:beef::47",
    K.CIDR: "203.0.113.0/24",
    K.DOMAIN: "evil-cdn.example",
    K.URL: "https://evil-cdn.example/gate.php?id='1'&p=C:\\x",
    K.EMAIL: "billing@invoice-portal.example",
    K.MD5: "44d88612fea8a8f36de82e1278abb02f",
    K.SHA1: "3395856ce81f2b7382dee72602f798b642f14140",
    K.SHA256: "275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f",
    K.SHA512: "cc805d5fab1fd71a4ab352a9c533e65fb2d5b885518f4e565e68847223b8e6b8"
    "5cb48f3afad842726d99239c9e36505c64b0dc9a061d9e507d833277ada336ab",
    K.CVE: "CVE-2026-41234",
    K.ASN: "AS64500",
    K.REGISTRY_KEY: r"HKLM\Software\Microsoft\Windows\CurrentVersion\Run\Sync 'x'",
    K.FILE_PATH: r"C:\Users\Public\it's here\winsync.exe",
    K.FILE_NAME: "invoice_2026.hta",
    K.BITCOIN: "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq",
    K.MONERO: "44AFFq5kSiGBoZ4NMDwYtN18obc8AemS33DBLWs3H7otXft3XjrpDt"
    "QGv7SqSsaBYBb98uNbr2VBBEt7f2wfn3RVGQBEP3A",
    K.ETHEREUM: "0x52908400098527886e0f7030069857d2e4169ee7",
}
EVIDENCE = {K.IPV4: C2_SENTENCE, K.DOMAIN: C2_SENTENCE, K.REGISTRY_KEY: RUN_SENTENCE}


def _indicator(kind: IndicatorKind, value: str) -> Indicator:
    low = kind in (K.FILE_NAME, K.ASN)
    return Indicator(
        kind=kind,
        value=value,
        defanged=value.replace(".", "[.]"),
        confidence=Confidence.LOW if low else Confidence.HIGH,
        evidence=EVIDENCE.get(kind, f"The report lists {value} as an indicator."),
    )


def rich_brief() -> Brief:
    """A brief with one indicator of every kind, techniques (one sub-technique) and hunts."""
    techniques = (
        TechniqueHit("T1071.001", "Web Protocols", ("command-and-control",), 0.9, (C2_SENTENCE,)),
        TechniqueHit(
            "T1547.001",
            "Registry Run Keys / Startup Folder",
            ("persistence", "privilege-escalation"),
            0.8,
            (RUN_SENTENCE,),
        ),
        TechniqueHit("T1486", "Data Encrypted for Impact", ("impact",), 0.6, ("Files were encrypted.",)),
    )
    hunt = Hunt(
        "UC_RUN_KEY_PERSIST",
        "Run key persistence",
        "installation",
        Confidence.MEDIUM,
        ("T1547.001",),
        (Query("splunk", "spl", "| tstats count from datamodel=Endpoint.Registry"),),
    )
    return Brief(
        title='LockDrift "ransomware": <gateway> intrusion, =cmd|calc',
        url="https://research.example/lockdrift?x=1&y=2",
        source="Northwind Threat Research",
        published=datetime(2026, 11, 20, 9, 30, tzinfo=UTC),
        summary="LockDrift operators exploited a gateway and encrypted the domain in 52 hours.",
        severity=Severity(SeverityLevel.HIGH, 78, ("exploited vulnerability", "ransomware")),
        iocs=IocFindings(tuple(_indicator(k, v) for k, v in VALUES.items())),
        techniques=techniques,
        kill_chain=("exploitation", "installation", "actions-on-objectives"),
        hunts=(hunt,),
        content_hash="a" * 64,
        item_key="northwind-lockdrift",
        analysed_at=datetime(2026, 11, 21, 6, 0, tzinfo=UTC),
    )


def empty_brief() -> Brief:
    """A brief with no indicator, technique or hunt, no URL and no dates."""
    return replace(
        rich_brief(),
        title="Five things CISOs should budget for",
        url=None,
        published=None,
        analysed_at=None,
        severity=Severity(SeverityLevel.INFO, 3, ()),
        iocs=IocFindings(),
        techniques=(),
        kill_chain=(),
        hunts=(),
        item_key=None,
    )
