"""summarize: extractive lead sentences that are real prose, never chrome, never empty."""

from __future__ import annotations

from pathlib import Path

import pytest

from huntbrief.catalog.boilerplate import load_boilerplate
from huntbrief.model import Article, FeedItem, TextOrigin
from huntbrief.stages.articles import article_from_feed, article_from_text, extract_article
from huntbrief.stages.summary import summarize
from huntbrief.stages.text import split_sentences

CASES = Path(__file__).resolve().parents[1] / "cases" / "articles"
CORPUS = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "articles"
CORPUS_FILES = sorted(CORPUS.glob("*.txt")) if CORPUS.is_dir() else []
CHROME_WORDS = (
    "In this article Written",
    "Written by",
    "mins read",
    "min read",
    "Share this",
    "Subscribe",
    "cookies",
)


def article(text: str, title: str = "A title") -> Article:
    return Article(url=None, title=title, source="test", text=text)


LEAD = (
    "Northwind Labs has tracked Paper Lantern, a loader campaign abusing signed installers, since March. "
    "The operators send invoice-themed emails that link to a ZIP archive on a compromised site. "
    "Victims are mostly logistics firms in Europe."
)
SECOND = (
    "Once opened, the installer side-loads a DLL that contacts evil[.]com for its second stage. It persists."
)


def test_lead_sentences_in_article_order() -> None:
    text = f"Overview\n\n{LEAD}\n\n{SECOND}"
    summary = summarize(article(text))
    assert summary == (
        "Northwind Labs has tracked Paper Lantern, a loader campaign abusing signed installers, since March. "
        "The operators send invoice-themed emails that link to a ZIP archive on a compromised site. "
        "Once opened, the installer side-loads a DLL that contacts evil[.]com for its second stage."
    )


def test_reference_flaw_snyk_chrome_never_reaches_the_summary() -> None:
    text = (
        "Snyk Blog In this article\nWritten by Geva Solomonovich \nMay 10, 2021\n0 mins read Last summer, we "
        "announced our plan to expand our partnership with Trend Micro to provide security operations teams "
        "visibility into open source risk. The long-standing partnership already includes image scanning."
    )
    summary = summarize(
        article(text, title="Trend Micro launches Cloud One Open Source Security powered by Snyk")
    )
    assert summary.startswith("Last summer, we announced our plan")
    for chrome in ("Snyk Blog", "In this article", "Written by", "mins read", "May 10, 2021"):
        assert chrome not in summary


@pytest.mark.parametrize(
    "noise",
    [
        "Indicators of compromise",  # heading
        "Domain | evil[.]com | Stage-one download server with a long description of the row",  # table row
        "evil[.]com hxxp://1.2.3[.]4/a_b 45.77.120[.]9 3f1c9a2b7d5e4f60a8b9c0d1e2f3a4b5 update-check[.]net",
        "Subscribe to our weekly threat intelligence newsletter for the latest research.",
        "Click here to download the full report on this campaign and its indicators.",
        "We use cookies to improve your experience on our website, see our cookie policy.",
        "Figure 1: The infection chain from the invoice email to the remote access trojan.",
        "Here are the indicators we observed during the investigation of this campaign:",
    ],
)
def test_non_prose_lines_are_skipped(noise: str) -> None:
    summary = summarize(article(f"{noise}\n\n{LEAD}"))
    assert summary.startswith("Northwind Labs has tracked Paper Lantern")
    assert noise not in summary


def test_abbreviations_and_defanged_domains_stay_inside_their_sentence() -> None:
    text = (
        "Targets include firms in the U.S. and Europe, e.g. logistics and retail companies with branches. "
        "The loader beacons to evil[.]com and 1.2.3.4 over HTTPS every five minutes."
    )
    assert split_sentences(summarize(article(text))) == split_sentences(text)


def test_limits_on_sentences_and_characters() -> None:
    text = f"{LEAD}\n\n{SECOND}"
    assert len(split_sentences(summarize(article(text), max_sentences=1))) == 1
    assert len(split_sentences(summarize(article(text), max_sentences=2))) == 2
    short = summarize(article(text), max_chars=200)
    assert len(short) <= 200 and short.endswith(".")
    one_long = "The actor " + "moved laterally and dumped credentials, " * 40 + "then left."
    cut = summarize(article(one_long), max_chars=120)
    assert len(cut) <= 120 and cut.endswith("…") and cut.startswith("The actor moved laterally")


def test_falls_back_to_a_prose_line_then_to_the_title() -> None:
    assert summarize(article("Patch FortiOS now\nHome", title="T")) == "Patch FortiOS now."
    assert summarize(article("", title="  Advisory   2024-17 ")) == "Advisory 2024-17"
    assert summarize(article("Indicators\nevil[.]com\nbad[.]org", title="IOC list")) == "IOC list"


def test_title_is_not_repeated_as_a_sentence() -> None:
    title = "Paper Lantern loader campaign abuses signed installers across Europe."
    summary = summarize(article(f"{title}\n\n{LEAD}", title=title))
    assert not summary.startswith(title)


def test_markdown_links_images_and_bold_are_shown_as_text() -> None:
    text = (
        "![logo](https://x.test/logo.png)\n"
        "**Lower risk.** "
        'The [Proofpoint TAP](https://x.test/t "TAP") service **flags** the lure before users click.'
    )
    assert summarize(article(text)) == "The Proofpoint TAP service flags the lure before users click."


def test_deterministic() -> None:
    text = f"{LEAD}\n\n{SECOND}\n\n{LEAD.upper()}"
    assert len({summarize(article(text)) for _ in range(5)}) == 1


@pytest.mark.parametrize("path", sorted(CASES.glob("*.html")), ids=lambda p: p.stem)
def test_fixture_summaries_are_extractive_prose(path: Path) -> None:
    page = extract_article(path.read_bytes(), url=None, source="test")
    summary = summarize(page)
    assert summary and len(summary) <= 600
    patterns = load_boilerplate()
    for sentence in split_sentences(summary):
        assert sentence in page.text
        assert len(sentence.split()) >= 6 and not patterns.is_chrome_sentence(sentence)


def test_feed_article_summary() -> None:
    item = FeedItem(
        key="k", source="s", title="T", summary=f"<p>{LEAD}</p><p>Subscribe to our newsletter</p>"
    )
    summary = summarize(article_from_feed(item))
    assert summary.startswith("Northwind Labs") and "Subscribe" not in summary


@pytest.mark.skipif(not CORPUS_FILES, reason=f"shared article corpus not found at {CORPUS}")
@pytest.mark.parametrize("path", CORPUS_FILES, ids=lambda p: p.stem[:50])
def test_corpus_summaries_are_prose_without_chrome(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    item = article_from_text(
        text, url=None, source="corpus", title=None, published=None, origin=TextOrigin.FILE
    )
    summary = summarize(item)
    assert summary.strip() and len(summary) <= 600
    patterns = load_boilerplate()
    for sentence in split_sentences(summary):
        assert not patterns.is_chrome_sentence(sentence), sentence
    for chrome in CHROME_WORDS:
        assert chrome not in summary
    assert item.title


def test_flattened_table_rows_give_their_sentence_cells_not_the_row() -> None:
    text = (
        "Tactic;Technique;Description TA0001 Initial Access;T1190 Exploit Public-Facing Application;In a "
        "number of attacks, the threat actors used ProxyShell vulnerabilities (CVE-2021-34473).\n"
        ";T1133 External Remote Services;As an initial attack vector, insecure RDP and VPNs may be used.\n"
    )
    summary = summarize(article(text))
    assert summary == (
        "In a number of attacks, the threat actors used ProxyShell vulnerabilities (CVE-2021-34473). "
        "As an initial attack vector, insecure RDP and VPNs may be used."
    )


def test_a_byline_and_heading_glued_to_the_lead_are_cut_off() -> None:
    text = (
        "By Edmund Brumaghin, Joe Marshall, and Arnaud Zobec.Executive SummaryAnother threat actor is "
        "actively exploiting the PrintNightmare vulnerability to spread laterally across a network. "
        "The attackers deployed Vice Society ransomware on the victim's file servers."
    )
    summary = summarize(article(text))
    assert summary.startswith("Another threat actor is actively exploiting the PrintNightmare vulnerability")
    assert "Brumaghin" not in summary and "Executive Summary" not in summary


def test_a_markdown_link_missing_its_closing_parenthesis_shows_only_its_text() -> None:
    text = (
        "As security teams [prepare for 2021](https://go.example.com/predictions.html. it is important to "
        "anticipate how threat actors could evolve their strategies in the new year."
    )
    assert "https://" not in summarize(article(text))
