"""Alert payloads: Slack Block Kit, Teams Adaptive Card, generic JSON; who gets what (thresholds)."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from huntbrief.adapters.notify import PAYLOADS, headline, slack_payload, teams_payload, webhook_payload
from huntbrief.adapters.outbox import scrub
from huntbrief.adapters.render.naming import brief_stem
from huntbrief.adapters.targets import Target
from huntbrief.model import Severity, SeverityLevel
from huntbrief.serialize import brief_from_dict, brief_to_dict
from tests.test_outputs.briefs import empty_brief, rich_brief

L = SeverityLevel


def _texts(blocks: list[dict[str, object]]) -> str:
    """Every text of a Block Kit message, joined (sections, headers and context elements)."""
    return json.dumps(blocks, ensure_ascii=False)


def test_the_table_lists_the_three_kinds() -> None:
    assert set(PAYLOADS) == {"slack", "teams", "webhook"}


def test_slack_message_has_a_notification_text_and_blocks() -> None:
    brief = rich_brief()
    payload = slack_payload(brief, updated=False)
    assert set(payload) == {"text", "blocks"}
    assert payload["text"].startswith("[HIGH] New brief: LockDrift")
    header = payload["blocks"][0]
    assert header["type"] == "header" and header["text"]["type"] == "plain_text"
    assert header["text"]["text"] == headline(brief, updated=False)
    assert all(b["type"] in {"header", "section", "context"} for b in payload["blocks"])
    body = _texts(payload["blocks"])
    assert "78/100" in body and "Northwind Threat Research" in body and "2026-11-20" in body
    assert "T1071.001 Web Protocols" in body
    assert "ipv4 185[.]220[.]101[.]47" in body and "185.220.101.47" not in body  # people get defanged IOCs
    assert "(+" in body  # more indicators than are listed
    assert "exploited vulnerability" in body  # the severity's reasons
    assert "|Read the article>" in body


def test_slack_text_cannot_ping_the_channel_or_forge_links() -> None:
    brief = replace(rich_brief(), title="<!channel> pay <https://evil.example|here> & more")
    payload = slack_payload(brief, updated=False)
    assert "<!channel>" not in payload["text"] and "&lt;!channel&gt;" in payload["text"]
    assert "&amp; more" in payload["text"]
    assert "&lt;https://evil.example|here&gt;" in payload["text"]


def test_slack_header_respects_the_block_kit_limit() -> None:
    brief = replace(rich_brief(), title="x" * 400, summary="y" * 5000)
    payload = slack_payload(brief, updated=False)
    assert len(payload["blocks"][0]["text"]["text"]) <= 150
    assert all(len(b["text"]["text"]) <= 3000 for b in payload["blocks"] if b["type"] == "section")


def test_update_says_updated_and_what_changed() -> None:
    brief = replace(rich_brief(), changes="2 new indicators: evil-cdn.example, 185.220.101.47")
    slack = slack_payload(brief, updated=True)
    assert slack["text"].startswith("[HIGH] Updated brief: ")
    assert "*What changed:* 2 new indicators" in _texts(slack["blocks"])
    teams = json.dumps(teams_payload(brief, updated=True))
    assert "Updated brief" in teams and "What changed: 2 new indicators" in teams
    assert "What changed" not in json.dumps(slack_payload(brief, updated=False))


def test_teams_message_is_one_adaptive_card() -> None:
    brief = rich_brief()
    payload = teams_payload(brief, updated=False)
    assert payload["type"] == "message" and len(payload["attachments"]) == 1
    attachment = payload["attachments"][0]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = attachment["content"]
    assert card["type"] == "AdaptiveCard" and card["version"] == "1.4"
    assert card["$schema"] == "http://adaptivecards.io/schemas/adaptive-card.json"
    first = card["body"][0]
    assert first["type"] == "RichTextBlock" and len(first["inlines"]) == 1
    run = first["inlines"][0]  # a TextRun: never rendered as Markdown, so titles cannot become links
    assert run["type"] == "TextRun" and run["text"] == headline(brief, updated=False)
    assert run["color"] == "Attention"
    texts = [b for b in card["body"] if b["type"] != "FactSet"]
    assert all(b["type"] == "RichTextBlock" for b in texts), "article text only ever in TextRuns"
    facts = {f["title"]: f["value"] for f in next(b for b in card["body"] if b["type"] == "FactSet")["facts"]}
    assert facts["Severity"] == "HIGH (78/100)" and facts["Source"] == "Northwind Threat Research"
    assert "evil-cdn[.]example" in facts["Indicators"]
    assert card["actions"] == [{"type": "Action.OpenUrl", "title": "Read the article", "url": brief.url}]


def test_teams_card_without_a_link_has_no_action() -> None:
    card = teams_payload(empty_brief(), updated=False)["attachments"][0]["content"]
    assert "actions" not in card
    assert {f["title"]: f["value"] for f in card["body"][2]["facts"]}["Published"] == "undated"


def test_generic_webhook_carries_the_json_brief_and_its_file_name() -> None:
    brief = rich_brief()
    payload = webhook_payload(brief, updated=False)
    assert payload["event"] == "brief.new" and payload["updated"] is False
    assert payload["file"] == f"{brief_stem(brief)}.json"
    assert payload["brief"] == brief_to_dict(brief)
    assert brief_from_dict(json.loads(json.dumps(payload))["brief"]) == brief
    assert webhook_payload(brief, updated=True)["event"] == "brief.updated"


@pytest.mark.parametrize(
    ("level", "threshold", "wanted"),
    [
        (L.CRITICAL, L.HIGH, True),
        (L.HIGH, L.HIGH, True),
        (L.MEDIUM, L.HIGH, False),
        (L.INFO, L.LOW, False),
        (L.INFO, L.INFO, True),
        (L.LOW, None, True),
    ],
)
def test_targets_want_briefs_at_or_above_their_threshold(
    level: SeverityLevel, threshold: SeverityLevel | None, wanted: bool
) -> None:
    target = Target("slack:t", "slack", "t", "https://hooks.example/x", min_level=threshold)
    assert target.wants(replace(rich_brief(), severity=Severity(level, 50, ()))) is wanted


def test_a_source_filter_matches_names_case_insensitively() -> None:
    target = Target(
        "slack:t", "slack", "t", "https://h.example/x", sources=frozenset({"northwind threat research"})
    )
    assert target.wants(rich_brief())
    assert not target.wants(replace(rich_brief(), source="Other"))


def test_scrub_hides_webhook_urls_and_secret_values() -> None:
    url = "https://hooks.slack.example/services/T000/B000/XXXXSECRET"
    target = Target("slack:t", "slack", "t", url, secrets=(url, "/services/T000/B000/XXXXSECRET", "tok-123"))
    text = f"POST {url} failed; token tok-123; path /services/T000/B000/XXXXSECRET"
    clean = scrub(text, [target])
    assert "XXXXSECRET" not in clean and "tok-123" not in clean
    assert "https://hooks.slack.example/…" in clean
