"""Alert payloads for a brief: Slack (Block Kit), Microsoft Teams (Adaptive Card) and generic JSON.

`PAYLOADS` is the single kind → builder table that `[[notify]]` kinds refer to. Builders are pure:
a brief and whether it is an update in, a JSON-ready dict out. Indicators are shown defanged
(people read alerts); the generic webhook carries the machine form (`serialize.brief_to_dict`).
"""

from __future__ import annotations

from typing import Any, Protocol

from huntbrief.adapters.render.naming import brief_stem
from huntbrief.model import Brief, SeverityLevel
from huntbrief.serialize import brief_to_dict

Payload = dict[str, Any]
SHOWN = 5  # techniques and indicators listed in a chat message
ADAPTIVE_CARD = "application/vnd.microsoft.card.adaptive"
_TEAMS_COLOURS = {
    SeverityLevel.CRITICAL: "Attention",
    SeverityLevel.HIGH: "Attention",
    SeverityLevel.MEDIUM: "Warning",
    SeverityLevel.LOW: "Accent",
    SeverityLevel.INFO: "Default",
}


class PayloadBuilder(Protocol):
    """Builds the JSON body of one alert."""

    def __call__(self, brief: Brief, *, updated: bool) -> Payload: ...


def headline(brief: Brief, *, updated: bool) -> str:
    """`[HIGH] New brief: Title` (or `Updated brief` for a re-analysed article with changed content)."""
    verb = "Updated brief" if updated else "New brief"
    return f"[{brief.severity.level.value}] {verb}: {brief.title}"


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _published(brief: Brief) -> str:
    return brief.published.date().isoformat() if brief.published else "undated"


def _techniques(brief: Brief) -> list[str]:
    return [f"{hit.id} {hit.name}" for hit in brief.techniques[:SHOWN]]


def _indicators(brief: Brief) -> list[str]:
    return [f"{ind.kind.value} {ind.defanged}" for ind in brief.iocs.indicators[:SHOWN]]


def _more(shown: list[str], total: int) -> str:
    extra = f" (+{total - len(shown)} more)" if total > len(shown) else ""
    return (", ".join(shown) or "none") + extra


def _slack_escape(text: str) -> str:
    """Slack mrkdwn control characters (a feed title must not ping @channel or forge a link)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_payload(brief: Brief, *, updated: bool) -> Payload:
    """A Slack incoming-webhook message: `text` (the notification line) and Block Kit `blocks`."""
    esc, sev = _slack_escape, brief.severity
    lines = [
        f"*Severity:* {sev.level.value} ({sev.score}/100) · *Source:* {esc(brief.source)} · "
        f"*Published:* {_published(brief)}",
        f"*Techniques:* {esc(_more(_techniques(brief), len(brief.techniques)))}",
        f"*Indicators:* {esc(_more(_indicators(brief), len(brief.iocs.indicators)))}",
    ]
    if updated and brief.changes:
        lines.append(f"*What changed:* {esc(brief.changes)}")
    title, summary = _cut(headline(brief, updated=updated), 150), esc(brief.summary) or "(no summary)"
    blocks: list[Payload] = [
        {"type": "header", "text": {"type": "plain_text", "text": title}},
        {"type": "section", "text": {"type": "mrkdwn", "text": _cut(summary, 3000)}},
        {"type": "section", "text": {"type": "mrkdwn", "text": _cut("\n".join(lines), 3000)}},
    ]
    if sev.reasons:
        why = "*Why:* " + "; ".join(esc(r) for r in sev.reasons[:3])
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": _cut(why, 3000)}]})
    if brief.url:
        link = f"<{esc(brief.url)}|Read the article>"
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": link}})
    return {"text": _cut(esc(headline(brief, updated=updated)), 3000), "blocks": blocks}


def _facts(brief: Brief) -> list[Payload]:
    sev = brief.severity
    return [
        {"title": "Severity", "value": f"{sev.level.value} ({sev.score}/100)"},
        {"title": "Source", "value": brief.source},
        {"title": "Published", "value": _published(brief)},
        {"title": "Techniques", "value": _more(_techniques(brief), len(brief.techniques))},
        {"title": "Indicators", "value": _more(_indicators(brief), len(brief.iocs.indicators))},
    ]


def _plain(text: str, **style: str) -> Payload:
    """Article text as an Adaptive Card RichTextBlock: a TextRun is never read as Markdown, so a
    hostile title cannot turn into a link or formatting (a TextBlock would render it)."""
    return {"type": "RichTextBlock", "inlines": [{"type": "TextRun", "text": text, **style}]}


def teams_payload(brief: Brief, *, updated: bool) -> Payload:
    """A Microsoft Teams message with one Adaptive Card 1.4 (Workflows / incoming-webhook format)."""
    sev = brief.severity
    title = headline(brief, updated=updated)
    body: list[Payload] = [
        _plain(title, weight="Bolder", size="Medium", color=_TEAMS_COLOURS[sev.level]),
        _plain(brief.summary or "(no summary)"),
        {"type": "FactSet", "facts": _facts(brief)},
    ]
    if updated and brief.changes:
        body.append(_plain(f"What changed: {brief.changes}"))
    if sev.reasons:
        body.append(_plain("Why: " + "; ".join(sev.reasons[:3])))
    card: Payload = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": body,
    }
    if brief.url:
        card["actions"] = [{"type": "Action.OpenUrl", "title": "Read the article", "url": brief.url}]
    attachment = {"contentType": ADAPTIVE_CARD, "contentUrl": None, "content": card}
    return {"type": "message", "attachments": [attachment]}


def webhook_payload(brief: Brief, *, updated: bool) -> Payload:
    """Generic JSON: `event` (brief.new / brief.updated), the JSON brief's `file` name and the `brief`."""
    return {
        "event": "brief.updated" if updated else "brief.new",
        "updated": updated,
        "file": f"{brief_stem(brief)}.json",
        "brief": brief_to_dict(brief),
    }


PAYLOADS: dict[str, PayloadBuilder] = {
    "slack": slack_payload,
    "teams": teams_payload,
    "webhook": webhook_payload,
}
