"""MISP renderer: loadable events, valid attribute types and categories, tags; push to a MISP API."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pymisp
import pytest
from pymisp import MISPEvent

from huntbrief.adapters.publish import PublishError, RetryPolicy, misp_key, push_misp_event
from huntbrief.adapters.render.misp import MISP_TYPES, MispRenderer, galaxy_tag, tlp_tag, to_ids
from huntbrief.errors import ConfigError
from huntbrief.model import Confidence, Indicator, IndicatorKind, Severity, SeverityLevel
from tests.localserver import Reply
from tests.test_outputs import postserver
from tests.test_outputs.briefs import VALUES, empty_brief, rich_brief

post_server = postserver.post_server
DESCRIBE = json.loads((Path(pymisp.__file__).parent / "data" / "describeTypes.json").read_text())["result"]


def _event(text: str) -> dict[str, Any]:
    event: dict[str, Any] = json.loads(text)["Event"]
    return event


@pytest.mark.parametrize("brief", [rich_brief(), empty_brief()], ids=["rich", "empty"])
def test_event_loads_back_into_misp_event(brief: Any) -> None:
    text = MispRenderer(attack_version="18.1").render(brief)
    event = MISPEvent()
    event.load(text)
    assert event.info == brief.title
    assert event.uuid == _event(text)["uuid"]
    assert len(event.attributes) == len(_event(text).get("Attribute", []))


@pytest.mark.parametrize("kind", list(MISP_TYPES))
def test_every_mapping_is_a_misp_type_allowed_in_its_category(kind: IndicatorKind) -> None:
    mapping = MISP_TYPES[kind]
    assert mapping.type in DESCRIBE["types"]
    assert mapping.type in DESCRIBE["category_type_mappings"][mapping.category]


def test_every_indicator_kind_is_exported() -> None:
    event = _event(MispRenderer(attack_version="18.1").render(rich_brief()))
    values = {a["value"] for a in event["Attribute"]}
    values |= {a["value"] for o in event["Object"] for a in o["Attribute"]}
    expected = {v for k, v in VALUES.items() if k is not IndicatorKind.ASN} | {"64500"}
    assert expected <= values
    coin = event["Object"][0]
    assert coin["name"] == "coin-address"
    assert {a["object_relation"]: a["value"] for a in coin["Attribute"]}["symbol"] == "ETH"


def test_to_ids_follows_type_and_confidence() -> None:
    assert to_ids(Indicator(IndicatorKind.IPV4, "1.2.3.4", "", Confidence.HIGH))
    assert not to_ids(Indicator(IndicatorKind.IPV4, "1.2.3.4", "", Confidence.LOW))
    assert not to_ids(Indicator(IndicatorKind.CVE, "CVE-2026-1", "", Confidence.HIGH))
    event = _event(MispRenderer(attack_version="18.1").render(rich_brief()))
    flags = {a["type"]: a["to_ids"] for a in event["Attribute"]}
    assert flags["sha256"] is True and flags["vulnerability"] is False and flags["link"] is False


def test_tags_galaxies_threat_level_and_report() -> None:
    event = _event(MispRenderer(tlp="green", attack_version="18.1").render(rich_brief()))
    tags = [t["name"] for t in event["Tag"]]
    assert tags[0] == "tlp:green"
    assert 'misp-galaxy:mitre-attack-pattern="Registry Run Keys / Startup Folder - T1547.001"' in tags
    assert event["threat_level_id"] == "1"
    assert event["date"] == "2026-11-20"
    report = event["EventReport"][0]["content"]
    assert "content_hash: " + "a" * 64 in report and "attack_version: 18.1" in report
    assert galaxy_tag("T1059", "Command and Scripting Interpreter").endswith('Interpreter - T1059"')
    with pytest.raises(ConfigError):
        tlp_tag("white")


@pytest.mark.parametrize(
    ("level", "threat"),
    [(SeverityLevel.CRITICAL, "1"), (SeverityLevel.HIGH, "1"), (SeverityLevel.MEDIUM, "2"),
     (SeverityLevel.LOW, "3"), (SeverityLevel.INFO, "4")],
)  # fmt: skip
def test_threat_level_from_severity(level: SeverityLevel, threat: str) -> None:
    brief = replace(rich_brief(), severity=Severity(level, 50, ()))
    assert _event(MispRenderer(attack_version="18.1").render(brief))["threat_level_id"] == threat


def test_uuids_stable_and_timestamps_follow_analysis() -> None:
    renderer = MispRenderer(attack_version="18.1")
    first = renderer.render(rich_brief())
    assert renderer.render(rich_brief()) == first
    later = _event(renderer.render(replace(rich_brief(), analysed_at=datetime(2026, 12, 1, tzinfo=UTC))))
    before = _event(first)
    assert [a["uuid"] for a in later["Attribute"]] == [a["uuid"] for a in before["Attribute"]]
    assert int(later["timestamp"]) > int(before["timestamp"])
    assert {a["timestamp"] for a in later["Attribute"]} == {later["timestamp"]}


def test_push_adds_a_new_event_then_updates_it(post_server: postserver.PostServer) -> None:
    text = MispRenderer(attack_version="18.1").render(rich_brief())
    uuid = _event(text)["uuid"]
    post_server.route(f"/events/view/{uuid}", Reply(status=404), Reply(status=200))
    post_server.route("/events/add", body=b'{"Event": {}}')
    post_server.route(f"/events/edit/{uuid}", body=b'{"Event": {}}')
    with httpx.Client() as client:
        assert push_misp_event(client, post_server.url("/"), "secret-key", text) == "added"
        assert push_misp_event(client, post_server.url("/"), "secret-key", text) == "updated"
    sent = json.loads(post_server.bodies["/events/add"][0])
    assert sent["Event"]["uuid"] == uuid
    assert post_server.requests("/events/add")[0]["authorization"] == "secret-key"
    assert post_server.requests(f"/events/edit/{uuid}")[0]["content-type"] == "application/json"


def test_push_retries_server_errors_then_gives_up(post_server: postserver.PostServer) -> None:
    text = MispRenderer(attack_version="18.1").render(rich_brief())
    uuid = _event(text)["uuid"]
    post_server.route(f"/events/view/{uuid}", Reply(status=404))
    post_server.route("/events/add", Reply(status=503), Reply(status=200, body=b"{}"))
    policy = RetryPolicy(attempts=3, backoff=0.0, timeout=5)
    with httpx.Client() as client:
        assert push_misp_event(client, post_server.url(""), "k", text, policy=policy) == "added"
        assert post_server.hits("/events/add") == 2
        post_server.route("/events/add", Reply(status=400, body=b"bad event"))
        with pytest.raises(PublishError, match="HTTP 400: bad event"):
            push_misp_event(client, post_server.url(""), "k", text, policy=policy)
        post_server.route(f"/events/view/{uuid}", Reply(status=403))
        with pytest.raises(PublishError, match="refused the API key"):
            push_misp_event(client, post_server.url(""), "k", text, policy=policy)


def test_misp_key_comes_from_the_environment() -> None:
    assert misp_key({"HUNTBRIEF_MISP_KEY": " abc "}) == "abc"
    with pytest.raises(ConfigError, match="HUNTBRIEF_MISP_KEY"):
        misp_key({})
