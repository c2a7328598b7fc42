"""Brief → MISP event JSON (PyMISP `MISPEvent`): typed attributes, ATT&CK galaxy and TLP tags.

UUIDs are UUIDv5 of the article and of each value, so re-sending an updated brief updates the
same event and attributes; only `timestamp`s move. PyMISP is imported on first use.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from huntbrief.adapters.render.provenance import (
    brief_identity,
    first_seen,
    last_changed,
    provenance,
    stable_uuid,
)
from huntbrief.adapters.render.stix_patterns import asn_number
from huntbrief.errors import ConfigError
from huntbrief.model import Brief, Confidence, Indicator, IndicatorKind, SeverityLevel

if TYPE_CHECKING:
    from pymisp import AbstractMISP, MISPEvent

K = IndicatorKind


@dataclass(frozen=True, slots=True)
class MispType:
    """How one indicator kind becomes a MISP attribute: type, category and the default IDS flag."""

    type: str
    category: str
    to_ids: bool


# Types and categories follow MISP's describeTypes (checked against PyMISP's copy in the tests).
MISP_TYPES: dict[IndicatorKind, MispType] = {
    K.IPV4: MispType("ip-dst", "Network activity", True),
    K.IPV6: MispType("ip-dst", "Network activity", True),
    K.CIDR: MispType("ip-dst", "Network activity", True),
    K.DOMAIN: MispType("domain", "Network activity", True),
    K.URL: MispType("url", "Network activity", True),
    K.EMAIL: MispType("email", "Payload delivery", True),
    K.MD5: MispType("md5", "Payload delivery", True),
    K.SHA1: MispType("sha1", "Payload delivery", True),
    K.SHA256: MispType("sha256", "Payload delivery", True),
    K.SHA512: MispType("sha512", "Payload delivery", True),
    K.CVE: MispType("vulnerability", "External analysis", False),
    K.ASN: MispType("AS", "Network activity", False),
    K.REGISTRY_KEY: MispType("regkey", "Persistence mechanism", True),
    K.FILE_PATH: MispType("filename", "Artifacts dropped", True),
    K.FILE_NAME: MispType("filename", "Payload delivery", True),
    K.BITCOIN: MispType("btc", "Financial fraud", True),
    K.MONERO: MispType("xmr", "Financial fraud", True),
}
# MISP has no attribute type for Ethereum: it goes in a `coin-address` object instead.
COIN_OBJECT = "coin-address"
# MISP threat levels: 1 High, 2 Medium, 3 Low, 4 Undefined.
THREAT_LEVELS = {
    SeverityLevel.CRITICAL: 1,
    SeverityLevel.HIGH: 1,
    SeverityLevel.MEDIUM: 2,
    SeverityLevel.LOW: 3,
    SeverityLevel.INFO: 4,
}
TLP_LEVELS = ("clear", "green", "amber", "amber+strict", "red")


def galaxy_tag(technique_id: str, name: str) -> str:
    """The MISP ATT&CK galaxy tag of a technique, e.g. `misp-galaxy:mitre-attack-pattern="X - T1059"`."""
    return f'misp-galaxy:mitre-attack-pattern="{name} - {technique_id}"'


def tlp_tag(level: str) -> str:
    """The MISP taxonomy tag of a TLP 2.0 level (`tlp:clear` …); ConfigError for an unknown level."""
    key = level.strip().lower().removeprefix("tlp:")
    if key not in TLP_LEVELS:
        raise ConfigError(f"unknown TLP level {level!r}; valid: {', '.join(TLP_LEVELS)}")
    return f"tlp:{key}"


def to_ids(indicator: Indicator) -> bool:
    """Whether an IDS should alert on it: its type is detectable and its confidence is not low."""
    mapping = MISP_TYPES.get(indicator.kind)
    detectable = mapping.to_ids if mapping else True
    return detectable and indicator.confidence is not Confidence.LOW


def misp_value(indicator: Indicator) -> str:
    """The attribute value MISP expects (ASNs as bare numbers, CVE IDs upper-case)."""
    if indicator.kind is K.ASN:
        number = asn_number(indicator.value)
        return str(number) if number is not None else indicator.value
    return indicator.value.upper() if indicator.kind is K.CVE else indicator.value


class MispRenderer:
    """One MISP event per brief, loadable with `MISPEvent.load`; `tlp` tags the event."""

    name = "misp"
    extension = "misp.json"

    def __init__(self, tlp: str = "clear", attack_version: str | None = None) -> None:
        self.tlp = tlp_tag(tlp)
        self.attack_version = attack_version

    def render(self, brief: Brief) -> str:
        """The brief as MISP event JSON (`{"Event": {...}}`, deterministic for a given brief)."""
        event = build_event(brief, self.tlp, self.attack_version)
        data = json.loads(event.to_json())
        return json.dumps({"Event": data}, indent=2, ensure_ascii=False, sort_keys=True) + "\n"

    def render_index(self, briefs: list[tuple[Brief, str]]) -> str:
        """A MISP feed-style manifest: event UUID → info, date, threat level and file, newest first."""
        manifest = {
            str(event_uuid(b)): {
                "info": b.title,
                "date": first_seen(b).date().isoformat(),
                "threat_level_id": THREAT_LEVELS[b.severity.level],
                "timestamp": int(last_changed(b).timestamp()),
                "file": f"{stem}.{self.extension}",
            }
            for b, stem in briefs
        }
        return json.dumps(manifest, indent=2, ensure_ascii=False) + "\n"


def event_uuid(brief: Brief) -> str:
    """The event's UUID: a UUIDv5 of the article's identity."""
    return str(stable_uuid("misp-event", brief_identity(brief)))


def build_event(brief: Brief, tlp: str = "tlp:clear", attack_version: str | None = None) -> MISPEvent:
    """The MISPEvent of a brief: attributes, a coin-address object per Ethereum wallet, tags, report."""
    from pymisp import MISPEvent

    event, uuid = MISPEvent(), event_uuid(brief)
    when = last_changed(brief)
    event.uuid, event.info, event.timestamp = uuid, brief.title, when
    event.date = first_seen(brief).date()
    event.threat_level_id, event.analysis = THREAT_LEVELS[brief.severity.level], 2
    event.add_tag(tlp)
    for hit in brief.techniques:
        event.add_tag(galaxy_tag(hit.id, hit.name))
    if brief.url:
        event.add_attribute(
            "link", brief.url, category="External analysis", to_ids=False, comment="Source article",
            uuid=str(stable_uuid(uuid, "link", brief.url)),
        )  # fmt: skip
    for ind in brief.iocs.indicators:
        _add_indicator(event, uuid, ind)
    report = _report_markdown(brief, attack_version)
    event.add_event_report("huntbrief brief", report, uuid=str(stable_uuid(uuid, "report")), distribution=5)
    _stamp(event, when)
    return event


def _add_indicator(event: MISPEvent, uuid: str, ind: Indicator) -> None:
    comment = ind.evidence[:1000]
    if ind.kind is K.ETHEREUM:
        obj = event.add_object(name=COIN_OBJECT, uuid=str(stable_uuid(uuid, COIN_OBJECT, ind.value)))
        obj.add_attribute("address-crypto", ind.value, to_ids=to_ids(ind), comment=comment)
        obj.add_attribute("symbol", "ETH", to_ids=False)
        for attribute in obj.attributes:
            attribute.uuid = str(stable_uuid(uuid, COIN_OBJECT, ind.value, attribute.object_relation))
        return
    mapping = MISP_TYPES[ind.kind]
    value = misp_value(ind)
    event.add_attribute(
        mapping.type, value, category=mapping.category, to_ids=to_ids(ind), comment=comment,
        uuid=str(stable_uuid(uuid, mapping.type, value)),
    )  # fmt: skip


def _stamp(event: MISPEvent, when: datetime) -> None:
    """Give the event and everything in it the brief's time, so a render depends on the brief alone."""
    parts: list[AbstractMISP] = [event, *event.attributes, *event.event_reports]
    for obj in event.objects:
        parts += [obj, *obj.attributes]
    for part in parts:
        part.force_timestamp = True  # PyMISP drops the timestamp of an edited part otherwise
        part.timestamp = when


def _report_markdown(brief: Brief, attack_version: str | None) -> str:
    origin = provenance(brief, attack_version)
    lines = [f"# {brief.title}", "", brief.summary, ""]
    lines += [f"**Severity:** {brief.severity.level.value} ({brief.severity.score}/100)", ""]
    lines += [f"- {reason}" for reason in brief.severity.reasons]
    lines += ["", "## Provenance", ""]
    lines += [f"- {key}: {value}" for key, value in origin.as_dict().items() if value]
    return "\n".join(lines).strip() + "\n"
