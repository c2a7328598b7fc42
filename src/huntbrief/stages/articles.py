"""Article stage: page HTML, feed content or a local text file -> an `Article` with clean analysis text.

Pure: it receives strings/bytes and never fetches. Main text comes from trafilatura (tables and
code kept, nothing Markdown-escaped), with a plain lxml rendering of the body as fallback; page
chrome is removed with the patterns of `catalog/data/boilerplate.yaml`.
"""

from __future__ import annotations

import html as html_entities
import logging
import re
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from huntbrief.catalog.boilerplate import BoilerplateAction, BoilerplatePatterns, load_boilerplate
from huntbrief.model import Article, FeedItem, TextOrigin
from huntbrief.stages.decoding import decode_markup, is_probably_html
from huntbrief.stages.html_text import (
    HTML_ROLES,
    TRAFILATURA_ROLES,
    marked_blocks,
    parse_html,
    tree_to_text,
    without_invisible,
)

if TYPE_CHECKING:  # trafilatura loads on first HTML extraction (plain text never needs it)
    from trafilatura.settings import Document

__all__ = [
    "article_from_feed",
    "article_from_text",
    "extract_article",
    "is_probably_html",
    "markup_to_text",
    "strip_chrome",
]

log = logging.getLogger(__name__)

_DATE_PARAMS = {"original_date": True, "extensive_search": False}
_PRUNE = ["//nav", "//*[@role='navigation']"]
# Shapes that mark a block as carrying indicators (defanged dots, hxxp, hashes, IPv4): such a
# block must reach the text even when trafilatura drops it for its wrapper's class ("code-toolbar").
_INDICATOR_SHAPE = re.compile(
    r"\[\.\]|\(\.\)|\{\.\}|\[dot\]|\bhxxps?\b|\b[0-9a-fA-F]{32,128}\b|\b\d{1,3}(?:\.\d{1,3}){3}\b",
    re.IGNORECASE,
)
_TOKEN_EDGES = ".,;:()\"'<>“”‘’"
_ISO_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_ATX_HEADING = re.compile(r"(#{1,6})\s+(.*?)(?:\s+#+)?\s*")
_MD_LINK = re.compile(r"\[([^\[\]\n]{0,300})\]\([^()\s]{0,2000}\)")
_TITLE_MAX = 150
_SECTION_LINE_MAX = 300
_SECTION_LINES_MAX = 30


def extract_article(
    html: str | bytes,
    *,
    url: str | None,
    source: str,
    title: str | None = None,
    published: datetime | None = None,
    boilerplate: BoilerplatePatterns | None = None,
) -> Article:
    """Extract the main text and metadata of a fetched page (HTML, or plain text) into an Article.

    Given title/published win over the page's own. Raises ParseError only for non-text input (PDF, binary).
    """
    page = decode_markup(html, url)
    patterns = boilerplate or load_boilerplate()
    if not is_probably_html(page):
        clean = without_invisible(page)
        return Article(
            url=url,
            title=title or _title_from_text(clean),
            source=source,
            text=plain_without_chrome(clean, patterns),
            published=published,
            html=page,
            origin=TextOrigin.PAGE,
        )
    document = _trafilatura(page, url)
    text = _document_text(document)
    meta_title, author, date = _metadata(document)
    if not text:
        text, fallback_title = _fallback_text(page)
        meta_title = meta_title or fallback_title
    text = strip_chrome(_with_rescued_blocks(text, page), patterns)
    return Article(
        url=url,
        title=title or meta_title or _title_from_text(text),
        source=source,
        text=text,
        published=published or date,
        html=page,
        origin=TextOrigin.PAGE,
        author=author,
    )


def article_from_feed(item: FeedItem, *, boilerplate: BoilerplatePatterns | None = None) -> Article:
    """An Article from the feed item itself (content, else summary) for when the page cannot be fetched."""
    patterns = boilerplate or load_boilerplate()
    raw, origin = item.content, TextOrigin.FEED_CONTENT
    text = strip_chrome(markup_to_text(raw), patterns)
    if not text:
        raw, origin = item.summary, TextOrigin.FEED_SUMMARY
        text = strip_chrome(markup_to_text(raw), patterns)
    return Article(
        url=item.url,
        title=item.title or _title_from_text(text),
        source=item.source,
        text=text,
        published=item.published,
        html=raw,
        origin=origin,
        author=item.author,
    )


def article_from_text(
    text: str,
    *,
    url: str | None,
    source: str,
    title: str | None,
    published: datetime | None,
    origin: TextOrigin,
    boilerplate: BoilerplatePatterns | None = None,
) -> Article:
    """An Article from .txt/.md text as written (Markdown escapes and links untouched), chrome lines removed.

    The title, when not given, is the first Markdown heading or else the first line.
    """
    clean = without_invisible(text)
    return Article(
        url=url,
        title=title or _title_from_text(clean),
        source=source,
        text=plain_without_chrome(clean, boilerplate or load_boilerplate()),
        published=published,
        origin=origin,
    )


def markup_to_text(markup: str) -> str:
    """Plain analysis text of an HTML fragment (feed content); text without tags keeps its lines."""
    if not markup.strip():
        return ""
    if not is_probably_html(markup):
        return _plain(html_entities.unescape(markup))
    tree = parse_html(markup)
    if tree is None:
        return ""
    body = tree.find(".//body")
    return tree_to_text(body if body is not None else tree, HTML_ROLES)


def strip_chrome(text: str, patterns: BoilerplatePatterns) -> str:
    """Remove page-chrome lines, glued chrome prefixes and chrome sections (heading + short block).

    Blank lines come out squeezed as `_squeeze_blank_lines` does: none leading or trailing, never two.
    """
    return _strip_lines(text.split("\n"), patterns)


def plain_without_chrome(text: str, patterns: BoilerplatePatterns) -> str:
    """`strip_chrome(_plain(text), patterns)` in one pass (for text already `without_invisible`)."""
    return _strip_lines([line.rstrip() for line in text.splitlines()], patterns)


def _strip_lines(lines: list[str], patterns: BoilerplatePatterns) -> str:
    """`strip_chrome` over a text's lines: blank lines may be repeated or lead, they come out squeezed."""
    kept: list[str] = []
    section: list[str] | None = None  # lines held back after a chrome heading
    verdict = patterns.verdict
    for line in lines:
        if section is not None:
            if line.strip():
                section.append(line)
                continue
            if not section:
                continue  # blank lines between the chrome heading and its block
            kept.extend(_unless_chrome_block(section))
            section = None
        elif line and not line.isspace():
            action, rest = verdict(line)
            if action is BoilerplateAction.DROP_SECTION:
                section = []
            if action is not None:
                continue
            if rest is line or rest.strip():  # the line as written, or what is left after glued chrome
                kept.append(rest)
                continue
        if kept and kept[-1]:
            kept.append("")
    if section:
        kept.extend(_unless_chrome_block(section))
    return "\n".join(kept).strip("\n")


def _unless_chrome_block(block: list[str]) -> list[str]:
    """The block after a chrome heading goes, unless it is long enough to be real content."""
    if len(block) > _SECTION_LINES_MAX or any(len(line) > _SECTION_LINE_MAX for line in block):
        return block
    return []


def _squeeze_blank_lines(lines: list[str]) -> str:
    out: list[str] = []
    blank = True  # the last line kept was blank (or nothing is kept yet)
    for line in lines:
        if line.strip():
            out.append(line)
            blank = False
        elif not blank:
            out.append("")
            blank = True
    return "\n".join(out).strip("\n")


def _plain(text: str) -> str:
    """Text with normalised line ends, no trailing spaces or invisible characters, single blank lines."""
    lines = [line.rstrip() for line in without_invisible(text).splitlines()]
    return _squeeze_blank_lines(lines)


def _trafilatura(page: str, url: str | None) -> Document | None:
    """trafilatura's main-text extraction, or None when it finds nothing or fails on odd markup."""
    import trafilatura
    from trafilatura.settings import Document

    try:
        result: Any = trafilatura.bare_extraction(
            page,
            url=url,
            with_metadata=True,
            include_tables=True,
            include_formatting=True,
            include_comments=False,
            include_links=False,
            include_images=False,
            prune_xpath=list(_PRUNE),
            date_extraction_params=dict(_DATE_PARAMS),
        )
    except Exception as exc:  # third-party parser on hostile markup: fall back, never lose the article
        log.warning("trafilatura failed on %s: %s", url or "document", exc)
        return None
    return result if isinstance(result, Document) else None


def _document_text(document: Document | None) -> str:
    if document is None or document.body is None:
        return ""
    return tree_to_text(document.body, TRAFILATURA_ROLES)


def _metadata(document: Document | None) -> tuple[str, str, datetime | None]:
    """(title, author, published) from trafilatura's metadata; empty values when unknown."""
    if document is None:
        return "", "", None
    title = " ".join(str(document.title or "").split())
    author = " ".join(str(document.author or "").split())
    found = _ISO_DATE.match(str(document.date or ""))
    published = None
    if found:
        try:
            year, month, day = map(int, found.groups())
            published = datetime(year, month, day, tzinfo=UTC)
        except ValueError:
            published = None
    return title, author, published


def _fallback_text(page: str) -> tuple[str, str]:
    """(text, title) from a plain rendering of <body> without scripts, styles, navigation and footers."""
    tree = parse_html(page)
    if tree is None:
        return "", ""
    title = " ".join((tree.findtext(".//title") or "").split())
    body = tree.find(".//body")
    return tree_to_text(body if body is not None else tree, HTML_ROLES), title


def _with_rescued_blocks(text: str, page: str) -> str:
    """`text` plus, at its end, each indicator-bearing pre/table/list block of the page it lacks."""
    tree = parse_html(page)
    body = tree.find(".//body") if tree is not None else None
    if body is None:
        return text
    present = {token.strip(_TOKEN_EDGES) for token in text.split()}
    missing = [block for block in marked_blocks(body, _INDICATOR_SHAPE) if not _covered(block, present)]
    return "\n\n".join([text, *missing]) if missing else text


def _covered(block: str, present: set[str]) -> bool:
    """True when every indicator-shaped token of the block already occurs in the text."""
    tokens = (token.strip(_TOKEN_EDGES) for token in block.split() if _INDICATOR_SHAPE.search(token))
    return all(token in present for token in tokens)


def _title_from_text(text: str) -> str:
    """The first line if it is a heading, else the first level-1 heading, else the first line."""
    lines = (stripped for stripped in map(str.strip, text.splitlines()) if stripped)
    top = next(lines, "")
    if not top:
        return ""
    first = _ATX_HEADING.fullmatch(top)
    if first is None:
        marked = (line for line in lines if line[0] == "#")  # only these can be ATX headings
        first = next((m for m in map(_ATX_HEADING.fullmatch, marked) if m and len(m.group(1)) == 1), None)
    title = first.group(2) if first else top
    title = " ".join(_MD_LINK.sub(r"\1", title).replace("**", "").split())
    if len(title) <= _TITLE_MAX:
        return title
    return title[:_TITLE_MAX].rsplit(" ", 1)[0].rstrip(",;:") + "…"
