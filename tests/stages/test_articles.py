"""Article stage: page extraction, feed fallback, local text, chrome patterns and their loader.

HTML fixtures in tests/cases/articles/ describe themselves in a leading comment:
`expect-title/author/published`, `expect-present` (exact substring of the text), `expect-line`
(an exact line of the text), `expect-absent` and `expect-summary` (a substring of the summary).
"""

from __future__ import annotations

import codecs
import random
import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from huntbrief.catalog.boilerplate import BoilerplateAction, line_core, load_boilerplate, parse_boilerplate
from huntbrief.errors import CatalogError, ParseError
from huntbrief.model import Article, FeedItem, TextOrigin
from huntbrief.stages.articles import (
    _plain,
    article_from_feed,
    article_from_text,
    extract_article,
    is_probably_html,
    plain_without_chrome,
    strip_chrome,
)
from huntbrief.stages.summary import summarize

CASES = Path(__file__).resolve().parents[1] / "cases" / "articles"
CORPUS = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "articles"
CORPUS_FILES = sorted(CORPUS.glob("*.txt")) if CORPUS.is_dir() else []
HTML_CASES = sorted(CASES.glob("*.html"))
HEADER = re.compile(rb"<!--(.*?)-->", re.S)


def expectations(path: Path) -> dict[str, list[str]]:
    found = HEADER.search(path.read_bytes())
    assert found, f"{path.name} has no expectation header"
    expected: dict[str, list[str]] = {}
    for line in found.group(1).decode("ascii").splitlines():
        key, sep, value = line.strip().partition(": ")
        if sep and key.startswith("expect-"):
            expected.setdefault(key.removeprefix("expect-"), []).append(value)
    return expected


def extract(name: str, **kwargs: object) -> Article:
    return extract_article(
        (CASES / name).read_bytes(), url=f"https://example.test/{name}", source="test", **kwargs
    )  # type: ignore[arg-type]


# --- self-describing fixtures ------------------------------------------------------------------


@pytest.mark.parametrize("path", HTML_CASES, ids=lambda p: p.stem)
def test_fixture_expectations(path: Path) -> None:
    expected = expectations(path)
    article = extract_article(path.read_bytes(), url=f"https://example.test/{path.name}", source="test")
    lines = article.text.split("\n")
    assert article.origin is TextOrigin.PAGE
    assert article.source == "test" and article.url == f"https://example.test/{path.name}"
    for title in expected.get("title", []):
        assert article.title == title
    for author in expected.get("author", []):
        assert article.author == author
    for day in expected.get("published", []):
        assert article.published == datetime.fromisoformat(day).replace(tzinfo=UTC)
    for value in expected.get("present", []):
        assert value in article.text, value
    for value in expected.get("line", []):
        assert value in lines, value
    for value in expected.get("absent", []):
        assert value not in article.text, value
    summary = summarize(article)
    for value in expected.get("summary", []):
        assert value in summary, summary
    assert expected.get("present") or expected.get("line"), "a fixture must expect some text"


def test_every_fixture_kind_is_present() -> None:
    names = {p.name for p in CASES.iterdir()}
    for name in ("vendor_blog.html", "table_layout.html", "partnership_press_release.html"):
        assert name in names
    assert {"windows1252.html", "tiny.html", "not_html.pdf"} <= names


# --- text rules --------------------------------------------------------------------------------


def test_defanged_iocs_survive_byte_exact_without_markdown_escapes() -> None:
    text = extract("vendor_blog.html").text
    for ioc in (
        "evil[.]com",
        "hxxp://1.2.3[.]4/a_b",
        "hxxps://cdn.update-check[.]net/payload_v2.bin",
        "45.77.120[.]9",
    ):
        assert ioc in text
    for escaped in ("\\[", "\\]", "\\_", "\\|", "\\*", "\\#"):
        assert escaped not in text
    assert "C:\\Users\\Public\\Libraries\\lantern_svc.exe" in text  # real backslashes untouched


def test_tables_are_rows_of_cells_and_code_keeps_its_lines() -> None:
    lines = extract("vendor_blog.html").text.split("\n")
    assert "Type | Indicator | Notes" in lines
    assert (
        "SHA-256 | 3f1c9a2b7d5e4f60a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f1 | lantern_svc.exe"
        in lines
    )
    pre = [
        "evil[.]com",
        "update-check[.]net",
        "hxxp://1.2.3[.]4/a_b",
        "hxxps://cdn.update-check[.]net/payload_v2.bin",
    ]
    start = lines.index(pre[0], lines.index("The full list of network indicators, defanged:"))
    assert lines[start : start + 4] == pre
    code = next(line for line in lines if line.startswith("schtasks "))
    assert code.endswith('/tr "C:\\Users\\Public\\Libraries\\lantern_svc.exe"')


def test_list_items_one_per_line_and_paragraphs_separated_by_blank_lines() -> None:
    text = extract("vendor_blog.html").text
    items = [line for line in text.split("\n") if line.startswith("- ")]
    assert [item[:15] for item in items] == ["- Stage one: in", "- Stage two: si", "- Stage three: "]
    assert "logistics companies in Europe. The operators send" in text
    assert "compromised WordPress site.\n\nOnce the victim opens the installer" in text
    assert "\n\n\n" not in text


def test_layout_table_keeps_paragraphs_apart_and_the_data_table_as_rows() -> None:
    text = extract("table_layout.html").text
    assert "immediately.\n\nExploitation began on 2 November 2023." in text
    assert all(" | " not in line or len(line) < 120 for line in text.split("\n"))


def test_windows_1252_declared_by_meta_is_decoded() -> None:
    article = extract("windows1252.html")
    assert article.title == "Nightjar stealer targets café payment terminals"
    assert "The “Nightjar” stealer" in article.text
    assert "in cafés and restaurants across Europe — losses so far exceed €2 million" in article.text
    assert "terminal’s management password" in article.text
    assert "\ufffd" not in article.text and "\ufffd" not in article.html
    assert "charset=windows-1252" in article.html


@pytest.mark.parametrize("codec", ["utf-8-sig", "utf-16", "utf-32"])
def test_byte_order_marks_decide_the_encoding(codec: str) -> None:
    page = (CASES / "vendor_blog.html").read_text(encoding="utf-8")
    via_bom = extract_article(page.encode(codec), url=None, source="test")
    assert via_bom.text == extract("vendor_blog.html").text
    assert not via_bom.html.startswith("\ufeff")


def test_undeclared_invalid_utf8_is_replaced_not_fatal() -> None:
    page = (
        b"<html><body><article><h1>Caf\xe9</h1><p>"
        + b"The actor used evil[.]com for command and control. " * 5
    )
    article = extract_article(page + b"</p></article></body></html>", url=None, source="test")
    assert "evil[.]com" in article.text
    assert "Caf\ufffd" in article.html


def test_plain_text_page_is_kept_as_text() -> None:
    body = "Advisory 12\n\nThe actor used evil[.]com and hxxp://1.2.3[.]4/a_b.\n- first\n- second\n"
    article = extract_article(body.encode(), url="https://x.test/a.txt", source="test")
    assert (
        article.text
        == "Advisory 12\n\nThe actor used evil[.]com and hxxp://1.2.3[.]4/a_b.\n- first\n- second"
    )
    assert article.title == "Advisory 12"


def test_given_title_and_date_win_over_the_page() -> None:
    when = datetime(2024, 4, 1, 12, tzinfo=UTC)
    article = extract("vendor_blog.html", title="From the feed", published=when)
    assert (article.title, article.published) == ("From the feed", when)


def test_html_keeps_the_decoded_page() -> None:
    article = extract("vendor_blog.html")
    assert article.html == (CASES / "vendor_blog.html").read_text(encoding="utf-8")


def test_tiny_page_drops_navigation_and_scripts() -> None:
    article = extract("tiny.html")
    assert article.text == "CVE-2024-21762 is exploited in the wild; patch FortiOS now."
    assert article.published is None  # no guessing a date from "2024" in a CVE ID


@pytest.mark.parametrize("failure", ["none", "raise"])
def test_body_fallback_when_trafilatura_finds_nothing(monkeypatch: pytest.MonkeyPatch, failure: str) -> None:
    def nothing(*_args: object, **_kwargs: object) -> None:
        if failure == "raise":
            raise RuntimeError("odd markup")
        return None

    import trafilatura  # imported by the stage on first use: patch the module itself

    monkeypatch.setattr(trafilatura, "bare_extraction", nothing)
    article = extract("vendor_blog.html")
    assert (
        article.title
        == "Operation Paper Lantern: Loader campaign abuses signed installers | Northwind Labs Blog"
    )
    assert "Northwind Labs has been tracking Paper Lantern" in article.text
    assert "URL | hxxp://1.2.3[.]4/a_b | Payload staging path" in article.text.split("\n")
    for chrome in (
        "dataLayer",
        "Products",
        "All rights reserved",
        "Subscribe to our newsletter",
        "Share this",
    ):
        assert chrome not in article.text


def test_indicator_block_dropped_by_extraction_is_rescued() -> None:
    prose = "<p>" + "The actor deployed a loader through invoice-themed phishing emails. " * 5 + "</p>"
    code = '<div class="code-toolbar"><pre><code>bad-domain[.]org\n10.0.0[.]1</code></pre></div>'
    page = f"<html><body><article><h1>Loader</h1>{prose}{code}{prose}</article></body></html>"
    lines = extract_article(page, url=None, source="test").text.split("\n")
    assert lines[-2:] == ["bad-domain[.]org", "10.0.0[.]1"]


def test_line_breaks_inside_a_paragraph_become_lines() -> None:
    prose = "<p>" + "The actor deployed a loader through invoice-themed phishing emails. " * 5 + "</p>"
    page = f"<html><body><article>{prose}<p>IOCs:<br>evil[.]com<br>hxxp://1.2.3[.]4/a_b</p>{prose}</article></body></html>"
    assert "\nIOCs:\nevil[.]com\nhxxp://1.2.3[.]4/a_b\n" in extract_article(page, url=None, source="t").text


# --- not HTML ------------------------------------------------------------------------------------


def test_pdf_raises_parse_error_with_location() -> None:
    with pytest.raises(ParseError) as caught:
        extract("not_html.pdf")
    assert caught.value.location == "https://example.test/not_html.pdf"
    assert "not HTML or text" in caught.value.message and "PDF" in caught.value.message


@pytest.mark.parametrize(
    "data",
    [
        bytes(random.Random(7).randrange(256) for _ in range(4096)),
        b"\x89PNG\r\n\x1a\n" + b"\x00" * 64,
        b"<html>\x00\x00\x00\x01\x02binary\x00</html>",
    ],
    ids=["random-bytes", "png", "nul-laden"],
)
def test_binary_junk_raises_parse_error(data: bytes) -> None:
    with pytest.raises(ParseError, match="not HTML or text"):
        extract_article(data, url="https://x.test/blob", source="test")


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ("<!DOCTYPE html><html><body>x</body></html>", True),
        (b"  <html><p>x</p></html>", True),
        ("<p>One</p><p>Two</p>", True),
        ("plain text about <script> tags in XSS", False),
        ("The actor used evil[.]com.", False),
        (b"%PDF-1.7\n", False),
        (b"\x00\x01<html>", False),
        (codecs.BOM_UTF16_LE + "<html><body>x</body></html>".encode("utf-16-le"), True),
    ],
)
def test_is_probably_html(data: str | bytes, expected: bool) -> None:
    assert is_probably_html(data) is expected


# --- feed fallback -------------------------------------------------------------------------------


def feed_item(**kwargs: object) -> FeedItem:
    base: dict[str, object] = {
        "key": "k1",
        "source": "Northwind",
        "title": "Paper Lantern",
        "url": "https://example.test/post",
        "published": datetime(2024, 3, 18, tzinfo=UTC),
        "author": "Mara Lindqvist",
    }
    return FeedItem(**{**base, **kwargs})  # type: ignore[arg-type]


def test_feed_content_is_preferred_and_rendered_with_the_text_rules() -> None:
    content = (
        "<p>The loader contacts <code>evil[.]com</code> and hxxp://1.2.3[.]4/a_b.</p>"
        "<ul><li>first</li><li>second</li></ul><table><tr><td>Domain</td><td>evil[.]com</td></tr></table>"
        "<p>The post Paper Lantern appeared first on Northwind Labs.</p>"
    )
    article = article_from_feed(feed_item(content=content, summary="<p>Short summary.</p>"))
    assert article.origin is TextOrigin.FEED_CONTENT
    assert article.text == (
        "The loader contacts evil[.]com and hxxp://1.2.3[.]4/a_b.\n\n- first\n- second\n\nDomain | evil[.]com"
    )
    assert (article.url, article.title, article.source) == (
        "https://example.test/post",
        "Paper Lantern",
        "Northwind",
    )
    assert (article.author, article.published) == ("Mara Lindqvist", datetime(2024, 3, 18, tzinfo=UTC))
    assert article.html == content


def test_feed_summary_when_there_is_no_content_and_chrome_is_cut() -> None:
    summary = (
        "Snyk Blog In this article Written by Geva Solomonovich May 10, 2021 0 mins read "
        "Last summer, we announced our plan to expand our partnership with Trend Micro."
    )
    article = article_from_feed(feed_item(content="", summary=summary))
    assert article.origin is TextOrigin.FEED_SUMMARY
    assert article.text == "Last summer, we announced our plan to expand our partnership with Trend Micro."


def test_feed_plain_text_summary_keeps_lines_and_decodes_entities() -> None:
    article = article_from_feed(feed_item(summary="AT&amp;T customers hit.\nSecond line about evil[.]com"))
    assert article.text == "AT&T customers hit.\nSecond line about evil[.]com"


def test_feed_item_with_nothing_gives_empty_text() -> None:
    article = article_from_feed(feed_item(content=" ", summary=""))
    assert (article.text, article.origin, article.title) == ("", TextOrigin.FEED_SUMMARY, "Paper Lantern")


# --- local text ---------------------------------------------------------------------------------


def from_text(text: str, title: str | None = None) -> Article:
    return article_from_text(
        text, url=None, source="file", title=title, published=None, origin=TextOrigin.FILE
    )


def test_text_title_from_heading_then_first_line() -> None:
    assert from_text("# Lantern **loader** report\n\nBody text.").title == "Lantern loader report"
    assert from_text("Intro line\n\nMore.\n\n# Real Title\n").title == "Real Title"
    assert from_text("\n\nFirst line here\nsecond").title == "First line here"
    assert from_text("# Heading", title="Given").title == "Given"
    long_title = from_text("word " * 80).title
    assert len(long_title) <= 151 and long_title.endswith("…")


def test_text_keeps_markdown_escapes_and_link_urls_as_written() -> None:
    text = "Dropped Covid\\_Letter.img from evil\\[.\\]com; see [the report](https://example.test/r_1) now."
    article = from_text(text)
    assert article.text == text
    assert article.origin is TextOrigin.FILE and article.html == ""


def test_text_normalises_line_ends_and_drops_chrome_lines() -> None:
    text = "Title\r\nWritten by Jane Doe\r\n5 min read\r\nThe actor used evil[.]com.\r\n\r\n\r\n\r\n"
    text += "Share this\r\nEnd."
    assert from_text(text).text == "Title\nThe actor used evil[.]com.\n\nEnd."


@pytest.mark.skipif(not CORPUS_FILES, reason=f"shared article corpus not found at {CORPUS}")
@pytest.mark.parametrize("path", CORPUS_FILES, ids=lambda p: p.stem[:50])
def test_corpus_text_loses_only_short_chrome_lines(path: Path) -> None:
    raw = path.read_text(encoding="utf-8")
    article = from_text(raw)
    assert article.title and article.origin is TextOrigin.FILE
    kept = set(article.text.split("\n"))
    dropped = [line.strip() for line in raw.splitlines() if line.strip() and line.rstrip() not in kept]
    assert all(len(line.split()) <= 30 for line in dropped), dropped
    assert len(article.text) >= 0.95 * len(raw.strip())


# --- chrome patterns -----------------------------------------------------------------------------

CHROME_LINES = [
    "Snyk Blog",
    "In this article",
    "Written by Geva Solomonovich",
    "By Mara Lindqvist, Principal Researcher",
    "May 10, 2021",
    "0 mins read",
    "Reading time: 7 min",
    "Share this: Twitter LinkedIn Email",
    "Twitter Facebook LinkedIn",
    "We use cookies to improve your experience. By continuing you agree to our cookie policy.",
    "Accept all cookies Manage preferences",
    "Subscribe to our newsletter",
    "Join Our Newsletter.",
    "Get the latest threat research delivered to your inbox every week.",
    "© 2024 Northwind Labs. All rights reserved.",
    "Home » Blog » Research",
    "Tags: ransomware, LockBit",
    "Leave a comment",
    "The post Paper Lantern appeared first on Northwind Labs.",
    "Start a free trial",
]
PROSE_LINES = [
    "In this article, we describe how Hancitor compromises systems.",
    "By exploiting CVE-2021-1675, the actor gained SYSTEM rights.",
    "Published by Microsoft, the report details a new campaign.",
    "The stealer uses cookies to hijack sessions and bypass MFA.",
    "Share prices fell after the breach was disclosed on May 10, 2021.",
    "Home routers were recruited into the botnet.",
    "Written evidence shows the actor reused evil[.]com.",
    "Related to this, the actor rotated its infrastructure weekly.",
]


@pytest.mark.parametrize("line", CHROME_LINES)
def test_chrome_line_is_dropped(line: str) -> None:
    assert strip_chrome(f"Real first line.\n{line}\nReal last line.", load_boilerplate()) == (
        "Real first line.\nReal last line."
    )


@pytest.mark.parametrize("line", PROSE_LINES)
def test_prose_line_is_kept(line: str) -> None:
    assert strip_chrome(line, load_boilerplate()) == line


def _reference_verdict(line: str) -> tuple[BoilerplateAction | None, str]:
    """What `verdict` must answer, composed from the public one-question methods."""
    patterns = load_boilerplate()
    stripped = line.strip()
    rest = patterns.strip_prefix(stripped)
    kept = rest if rest != stripped else line
    if not line_core(rest):
        return None, kept
    if patterns.starts_section(rest):
        return BoilerplateAction.DROP_SECTION, kept
    return (BoilerplateAction.DROP_LINE if patterns.line_match(rest) else None), kept


def test_verdict_fast_path_agrees_with_the_pattern_by_pattern_answer() -> None:
    """The one-call verdict (with its fast path) answers as the separate questions do, line by line."""
    lines = [
        *CHROME_LINES,
        *PROSE_LINES,
        "  - Related posts",
        "1. Tags: a, b",
        "   ",
        "Written by X May 1, 2021",
    ]
    lines += [
        line for case in sorted(CASES.glob("*")) for line in case.read_text(errors="replace").split("\n")
    ]
    patterns = load_boilerplate()
    for line in lines:
        if line.strip():
            assert patterns.verdict(line) == _reference_verdict(line), line


def test_one_pass_chrome_strip_equals_plain_then_strip() -> None:
    """`plain_without_chrome` (the .txt path) gives what `strip_chrome(_plain(text))` gives, on every
    fixture, the real articles, and texts with repeated, leading and whitespace-only blank lines."""
    texts = [case.read_text(errors="replace") for case in sorted(CASES.glob("*"))]
    texts += [path.read_text(encoding="utf-8") for path in CORPUS_FILES]
    rng = random.Random(7)
    pieces = [*CHROME_LINES, *PROSE_LINES, "", "   ", "\t", "Related posts", "- item", "x\r", "y\u2028z"]
    texts += ["\n".join(rng.choice(pieces) for _ in range(rng.randint(0, 30))) for _ in range(300)]
    texts += ["\n\n\nRelated posts\n\n\n- a\n- b\n\n\n\nBody.  \n \n", "   \n\n", ""]
    patterns = load_boilerplate()
    for text in texts:
        assert plain_without_chrome(text, patterns) == strip_chrome(_plain(text), patterns), text[:200]


def test_chrome_sections_drop_heading_and_short_block_only() -> None:
    text = (
        "Body.\n\nRelated posts\n\n- Detecting implants\n- Invoice lures\n\nAbout the author\n"
        "Mara is a researcher.\n\nIndicators\n\nevil[.]com"
    )
    assert strip_chrome(text, load_boilerplate()) == "Body.\n\nIndicators\n\nevil[.]com"
    long_block = "Related posts\n\n" + "A real paragraph that is much longer than any chrome block. " * 8
    assert "A real paragraph" in strip_chrome(long_block, load_boilerplate())


def test_glued_chrome_prefix_is_cut() -> None:
    bp = load_boilerplate()
    line = (
        "Snyk Blog In this article Written by Geva Solomonovich May 10, 2021 0 mins read Last summer, we did."
    )
    assert bp.strip_prefix(line) == "Last summer, we did."


# --- the loader ---------------------------------------------------------------------------------


def test_packaged_patterns_load_once_and_are_named() -> None:
    patterns = load_boilerplate()
    assert patterns is load_boilerplate()
    assert patterns.source.endswith("boilerplate.yaml")
    assert len({p.name for p in patterns.patterns}) == len(patterns.patterns) > 20


def test_importing_does_not_load_the_patterns() -> None:
    code = (
        "import huntbrief.stages.articles, huntbrief.stages.summary\n"
        "from huntbrief.catalog import boilerplate\n"
        "print(boilerplate._packaged.cache_info().currsize)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == "0"


def test_user_file_loads(tmp_path: Path) -> None:
    path = tmp_path / "chrome.yaml"
    path.write_text("version: 1\npatterns:\n  - {name: promo, action: drop_line, pattern: 'Buy now!'}\n")
    patterns = load_boilerplate(path)
    assert strip_chrome("Text.\nBuy now!\nMore.", patterns) == "Text.\nMore."


@pytest.mark.parametrize(
    ("body", "message", "line"),
    [
        ("patterns:\n  - {name: a, action: drop_line, pattern: x}\n", "unsupported version", 1),
        (
            "version: 1\npatterns:\n  - name: ok\n    action: drop_line\n    pattern: 'x'\n"
            "  - name: broken\n    action: drop_line\n    pattern: '(unclosed'\n",
            "pattern 'broken' does not compile",
            6,
        ),
        (
            "version: 1\npatterns:\n  - {name: a, action: explode, pattern: x}\n",
            "unknown action 'explode'",
            3,
        ),
        (
            "version: 1\npatterns:\n  - {name: a, action: drop_line, pattern: x}\n"
            "  - {name: a, action: drop_line, pattern: y}\n",
            "used twice",
            None,
        ),
        (
            "version: 1\npatterns:\n  - {name: a, action: drop_line, pattern: '{{nope}}'}\n",
            "unknown fragment",
            3,
        ),
        (
            "version: 1\npatterns:\n  - {name: a, action: drop_line, pattern: 'x*'}\n",
            "matches the empty string",
            3,
        ),
        (
            "version: 1\npatterns:\n  - {name: a, action: drop_line, pattern: x, colour: red}\n",
            "unknown pattern key",
            3,
        ),
        ("version: 1\npatterns: [\n", "invalid YAML", None),
        ("version: 1\npatterns: []\n", "non-empty list", 2),
    ],
)
def test_bad_pattern_files_name_file_line_and_pattern(body: str, message: str, line: int | None) -> None:
    with pytest.raises(CatalogError) as caught:
        parse_boilerplate(body, "custom.yaml")
    assert message in caught.value.message
    assert caught.value.location is not None and caught.value.location.startswith("custom.yaml")
    if line is not None:
        assert caught.value.location == f"custom.yaml:{line}"


def test_unreadable_file_is_a_catalog_error(tmp_path: Path) -> None:
    with pytest.raises(CatalogError) as caught:
        load_boilerplate(tmp_path / "missing.yaml")
    assert caught.value.location == str(tmp_path / "missing.yaml")


def test_fragments_expand_into_patterns() -> None:
    body = "version: 1\nfragments:\n  n: '\\d+'\n"
    body += "patterns:\n  - {name: count, action: drop_line, pattern: '{{n}} items'}\n"
    patterns = parse_boilerplate(body, "f.yaml")
    assert patterns.line_match("12 items") == "count"
    assert patterns.line_match("twelve items") is None
