"""Indicator blocks of an article's HTML: tables, <pre> and <code>, rendered as text lines.

Main-text extraction sometimes drops the IOC table or code listing; scanning these blocks too
recovers them. Page chrome (nav, header, footer, aside, forms) is never read.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from huntbrief.stages.decoding import is_probably_html
from huntbrief.stages.html_text import HTML_ROLES, parse_html, tree_to_text

if TYPE_CHECKING:
    from lxml import etree

_BLOCKS = ("table", "pre", "listing", "xmp", "code", "samp", "kbd")
_CHROME = frozenset(("nav", "header", "footer", "aside", "form", "script", "style", "noscript", "template"))
_MAX_HTML = 20 * 1024 * 1024


def html_blocks(html: str) -> str:
    """Text of every outermost table/pre/code block outside page chrome, blocks separated by blank lines.

    "" when `html` is not HTML (plain text, or larger than 20 MB). Tables come out as `| a | b |` rows.
    """
    if not html or len(html) > _MAX_HTML or not is_probably_html(html):
        return ""
    root = parse_html(html)
    if root is None:
        return ""
    chosen = [element for element in root.iter(*_BLOCKS) if _outermost(element)]
    texts = (tree_to_text(element, HTML_ROLES).strip() for element in chosen)
    return "\n\n".join(text for text in texts if text)


def _outermost(element: etree._Element) -> bool:
    for parent in element.iterancestors():
        tag = str(parent.tag)
        if tag in _BLOCKS or tag in _CHROME:
            return False
    return True
